"""embed.py: the ONNX backend matches the torch model, caches its graph, and fails clearly.

The ONNX tests use the real packaged model (export ≈ 5 s, quantise ≈ 2 s, then 6 short texts);
they run wherever onnxruntime is installed, which `make test` ensures (the dev extra pulls
`pipeline[onnx]`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_settings

from pipeline.embed import OnnxEmbedder, SentenceTransformerEmbedder
from pipeline.errors import EmbedError
from pipeline.run import make_embedder

TEXTS = [
    "Linear attention. We replace softmax attention with a kernel feature map.",
    "Protein folding with diffusion models: we predict structures from sequences.",
    "A",  # one token: padding and the order of the longest-first batches must not matter
    "Speech recognition for low-resource languages using self-supervised pretraining. " * 40,
    "Graph neural networks pass messages between nodes to classify them.",
    "Robots learn dexterous grasping from human video demonstrations.",
]


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return SentenceTransformerEmbedder(device="cpu").embed(TEXTS)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-models")


@pytest.mark.model
@pytest.mark.slow
def test_onnx_embedder_matches_the_torch_vectors(reference: np.ndarray, cache_dir: Path) -> None:
    pytest.importorskip("onnxruntime")
    embedder = OnnxEmbedder(cache_dir=cache_dir, device="cpu", batch_size=4)
    vectors = embedder.embed(TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == reference.shape
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(vectors * reference, axis=1)) > 0.9999
    assert embedder.name == SentenceTransformerEmbedder().name  # same vectors, same cache key


@pytest.mark.model
@pytest.mark.slow
def test_onnx_int8_is_close_and_cached_under_its_own_name(
    reference: np.ndarray, cache_dir: Path
) -> None:
    pytest.importorskip("onnxruntime")
    embedder = OnnxEmbedder(cache_dir=cache_dir, quantize=True, device="cpu")
    vectors = embedder.embed(TEXTS)
    cosines = np.sum(vectors * reference, axis=1)
    assert np.min(cosines) > 0.95 and np.mean(cosines) > 0.98
    assert embedder.name == "all-MiniLM-L6-v2@int8"
    graphs = sorted(p.name for p in cache_dir.iterdir())
    assert len(graphs) == 2 and graphs[1].endswith(".onnx") and ".int8." in graphs[0]


@pytest.mark.model
@pytest.mark.slow
def test_onnx_graph_is_exported_once_and_reused(cache_dir: Path) -> None:
    pytest.importorskip("onnxruntime")
    OnnxEmbedder(cache_dir=cache_dir, device="cpu").embed(TEXTS[:1])
    before = {p: p.stat().st_mtime_ns for p in cache_dir.iterdir()}
    OnnxEmbedder(cache_dir=cache_dir, device="cpu").embed(TEXTS[:1])
    assert {p: p.stat().st_mtime_ns for p in cache_dir.iterdir()} == before
    assert not [p for p in cache_dir.iterdir() if p.name.endswith(".tmp")]


def test_onnx_embedder_without_onnxruntime_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    with pytest.raises(EmbedError, match=r"pip install 'pipeline\[onnx\]'"):
        OnnxEmbedder(cache_dir=tmp_path).embed(["text"])


def test_make_embedder_follows_embed_backend(tmp_path: Path) -> None:
    for backend, kind, name in [
        ("torch", SentenceTransformerEmbedder, "all-MiniLM-L6-v2"),
        ("onnx", OnnxEmbedder, "all-MiniLM-L6-v2"),
        ("onnx-int8", OnnxEmbedder, "all-MiniLM-L6-v2@int8@seq128"),
    ]:
        embed: dict[str, object] = {"backend": backend}
        if backend == "onnx-int8":
            embed["max_seq_length"] = 128
        embedder = make_embedder(make_settings(tmp_path, embed=embed))
        assert isinstance(embedder, kind) and embedder.name == name
    assert embedder.cache_dir == (tmp_path / "data" / "models").resolve()


LONG = "Speech recognition for low-resource languages using self-supervised pretraining. " * 90
SAID = (
    "embed.max_seq_length is 1024, more tokens than model 'all-MiniLM-L6-v2' reads (512):"
    " set it to 512 or less, or 0 for the model's own limit"
)


@pytest.mark.slow
def test_a_max_seq_length_over_the_models_positions_is_named() -> None:
    """`max_seq_length = 1024` for MiniLM (512 positions): every embedding of a text that long
    failed with "The size of tensor a (1024) must match the size of tensor b (512)", naming no
    key. 512 itself is the model's whole reach and works."""
    with pytest.raises(EmbedError) as raised:
        SentenceTransformerEmbedder(device="cpu", max_seq_length=1024).embed([LONG])
    assert str(raised.value) == SAID
    vectors = SentenceTransformerEmbedder(device="cpu", max_seq_length=512).embed([LONG])
    assert vectors.shape == (1, 384)


def test_onnx_a_max_seq_length_over_the_models_positions_is_named(tmp_path: Path) -> None:
    """The same on onnxruntime: an onnxruntime traceback ("Attempting to broadcast an axis by a
    dimension other than 1. 512 by 1024"); now it is said before the graph is exported."""
    with pytest.raises(EmbedError) as raised:
        OnnxEmbedder(cache_dir=tmp_path, device="cpu", max_seq_length=1024).embed([LONG])
    assert str(raised.value) == SAID
    assert not list(tmp_path.iterdir())
