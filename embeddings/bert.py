"""The BERT encoder of a sentence-transformers package, assembled from ``torch.nn`` parts.

A BERT layer is a post-norm transformer encoder layer with GELU: exactly what
``torch.nn.TransformerEncoderLayer(norm_first=False, activation="gelu")`` computes, so the
model is that layer stack plus BERT's embeddings (word + position + token type, then
LayerNorm), with the package's ``model.safetensors`` weights copied in by name. Why not
``transformers.AutoModel``: importing the ``transformers`` modelling code costs about
155 MB of resident memory and 2.5 s of CPU on every cold start (it imports hundreds of
modules we never use), and torch's own encoder runs padded batches on its fused
inference path. Tokenisation is the package's ``tokenizer.json`` through ``tokenizers``
(the library ``transformers`` itself uses for fast tokenizers).

Only what all-MiniLM-L6-v2 needs is supported: absolute position embeddings, GELU
(exact), one token type. :func:`load` refuses a configuration outside that.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn


class BertEncoder(nn.Module):
    """BERT embeddings + encoder layers; ``forward`` gives the last hidden state."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        hidden = int(config["hidden_size"])
        eps = float(config.get("layer_norm_eps", 1e-12))
        self.word = nn.Embedding(int(config["vocab_size"]), hidden)
        self.position = nn.Embedding(int(config["max_position_embeddings"]), hidden)
        self.token_type = nn.Embedding(int(config.get("type_vocab_size", 2)), hidden)
        self.norm = nn.LayerNorm(hidden, eps=eps)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                d_model=hidden,
                nhead=int(config["num_attention_heads"]),
                dim_feedforward=int(config["intermediate_size"]),
                dropout=0.0,
                activation="gelu",
                layer_norm_eps=eps,
                batch_first=True,
                norm_first=False,
            )
            for _ in range(int(config["num_hidden_layers"]))
        )

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        x = self.word(ids) + self.position(positions) + self.token_type(torch.zeros_like(ids))
        x = self.norm(x)
        padding = mask == 0  # True where a token is padding, as nn.MultiheadAttention wants
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=padding)
        assert isinstance(x, torch.Tensor)
        # the fused inference path returns zeros at padded positions; pooling masks them anyway
        return x


def _layer_weights(state: dict[str, torch.Tensor], i: int) -> dict[str, torch.Tensor]:
    p = f"encoder.layer.{i}."
    attn = p + "attention.self."
    return {
        "self_attn.in_proj_weight": torch.cat(
            [state[attn + "query.weight"], state[attn + "key.weight"], state[attn + "value.weight"]]
        ),
        "self_attn.in_proj_bias": torch.cat(
            [state[attn + "query.bias"], state[attn + "key.bias"], state[attn + "value.bias"]]
        ),
        "self_attn.out_proj.weight": state[p + "attention.output.dense.weight"],
        "self_attn.out_proj.bias": state[p + "attention.output.dense.bias"],
        "norm1.weight": state[p + "attention.output.LayerNorm.weight"],
        "norm1.bias": state[p + "attention.output.LayerNorm.bias"],
        "linear1.weight": state[p + "intermediate.dense.weight"],
        "linear1.bias": state[p + "intermediate.dense.bias"],
        "linear2.weight": state[p + "output.dense.weight"],
        "linear2.bias": state[p + "output.dense.bias"],
        "norm2.weight": state[p + "output.LayerNorm.weight"],
        "norm2.bias": state[p + "output.LayerNorm.bias"],
    }


def load(folder: Path, dtype: torch.dtype) -> BertEncoder:
    """The encoder of the model in ``folder`` (``config.json`` + ``model.safetensors``)."""
    from safetensors.torch import load_file

    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    if config.get("hidden_act") != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"{folder}: only BERT models with GELU and absolute positions are supported")
    state = load_file(str(folder / "model.safetensors"))
    model = BertEncoder(config)
    weights: dict[str, torch.Tensor] = {
        "word.weight": state["embeddings.word_embeddings.weight"],
        "position.weight": state["embeddings.position_embeddings.weight"],
        "token_type.weight": state["embeddings.token_type_embeddings.weight"],
        "norm.weight": state["embeddings.LayerNorm.weight"],
        "norm.bias": state["embeddings.LayerNorm.bias"],
    }
    for i in range(len(model.layers)):
        weights.update({f"layers.{i}.{k}": v for k, v in _layer_weights(state, i).items()})
    model.load_state_dict(weights, strict=True)
    del state, weights
    return model.to(dtype).eval()
