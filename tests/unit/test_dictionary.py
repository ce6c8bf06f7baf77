"""The general dictionary (JMdict, installed with the project): what it translates, how
the corpus's vocabulary filters it, and how the glossary hands its translations to the
other language's fulltext query and dense gloss."""

from __future__ import annotations

import pytest

from kg.analysis import en_term_set, ja_term_set
from search_api.dictionary import (
    BilingualDictionary,
    Vocabulary,
    jmdict_path,
    load_dictionary,
    phrase_key,
    translations,
)
from search_api.expansion import Glossary, TermGroupView


@pytest.fixture(scope="module")
def jmdict() -> BilingualDictionary:
    d = load_dictionary("jmdict")
    assert d is not None, "jamdict-data is a dependency of the project"
    return d


def test_the_database_comes_from_the_installed_package() -> None:
    path = jmdict_path()
    assert path is not None and path.stat().st_size > 100_000_000


def test_none_switches_the_dictionary_off() -> None:
    assert load_dictionary("none") is None


@pytest.mark.parametrize(
    ("term", "first"),
    [("象牙", "ivory"), ("子犬", "puppy"), ("転売", "resale"), ("薬剤師", "pharmacist")],
)
def test_a_japanese_word_gets_its_first_sense_first(
    jmdict: BilingualDictionary, term: str, first: str
) -> None:
    words = jmdict.ja_to_en(term)
    assert words[0] == (first, 1.0)
    assert [s for _, s in words] == sorted((s for _, s in words), reverse=True)


def test_later_senses_and_glosses_score_lower(jmdict: BilingualDictionary) -> None:
    scores = dict(jmdict.ja_to_en("子犬"))
    assert scores["puppy"] == 1.0 and 0 < scores["dog"] < 1.0


@pytest.mark.parametrize(("word", "head"), [("ivory", "象牙"), ("puppy", "子犬")])
def test_an_english_word_reads_the_dictionary_backwards(
    jmdict: BilingualDictionary, word: str, head: str
) -> None:
    assert head in dict(jmdict.en_to_ja(word))


def test_unknown_words_translate_to_nothing(jmdict: BilingualDictionary) -> None:
    assert jmdict.ja_to_en("ぬぬぬぬ") == []
    assert jmdict.en_to_ja("qwxz") == []


def test_only_the_corpus_words_are_kept(jmdict: BilingualDictionary) -> None:
    query = ja_term_set("象牙のはんこ")
    assert translations(jmdict, Vocabulary(), query, "ja") == []
    kept = translations(jmdict, Vocabulary(en=frozenset({"ivory", "seal"})), query, "ja")
    # はんこ as written and as its dictionary form 判子 (the analyser gives both)
    assert {(t, w) for t, w, _ in kept} == {("象牙", "ivory"), ("はんこ", "seal"), ("判子", "seal")}
    english = en_term_set("ivory seals")
    back = translations(jmdict, Vocabulary(ja=frozenset({"象牙"})), english, "en")
    assert [(t, w) for t, w, _ in back] == [("ivory", "象牙")]


@pytest.mark.parametrize(
    ("query", "phrase", "head"),
    [
        ("Can a seller list a power bank without the PSE mark?", "power bank", "モバイルバッテリー"),
        ("What does the Act on Specified Commercial Transactions require?",
         "act on specified commercial transactions", "特定商取引法"),
        ("a takedown under the (Japanese) Copyright Act", "copyright act", "著作権法"),
    ],
)  # fmt: skip
def test_an_english_phrase_names_the_entry_it_glosses(
    jmdict: BilingualDictionary, query: str, phrase: str, head: str
) -> None:
    vocab = Vocabulary.from_rows(ja=[head, "出品"], en=[], dictionary=jmdict)
    assert head in dict(vocab.phrases[phrase])
    found = translations(jmdict, vocab, en_term_set(query), "en", query)
    assert (phrase, head) in {(t, w) for t, w, _ in found}
    # Word by word the dictionary does not get there.
    assert head not in {w for t, w, _ in found if t != phrase}


def test_phrases_are_the_corpus_headwords_and_need_two_content_words(
    jmdict: BilingualDictionary,
) -> None:
    assert phrase_key("(Japanese) Copyright Act!") == "copyright act"
    # 沢山 is glossed "too much" and "a great deal"; only the second has two content words.
    vocab = Vocabulary.from_rows(ja=["沢山"], en=[], dictionary=jmdict)
    assert "a great deal" in vocab.phrases and "too much" not in vocab.phrases
    # Without the headword in the corpus, the phrase is not indexed at all.
    assert "power bank" not in vocab.phrases
    assert Vocabulary.from_rows(ja=["沢山"], en=[]).phrases == {}  # no dictionary, no phrases


def test_a_phrase_translation_joins_the_japanese_fulltext_query(
    jmdict: BilingualDictionary,
) -> None:
    vocab = Vocabulary.from_rows(ja=["モバイルバッテリー"], en=[], dictionary=jmdict)
    e = Glossary([], dictionary=jmdict, vocabulary=vocab).expand(
        "power bank sold without a mark", "en", dictionary=1.0
    )
    assert e.ja_terms["モバイルバッテリー"] == pytest.approx(0.8)
    assert "モバイルバッテリー" in e.gloss_words("ja", dictionary=8)


GLOSSARY_WORDS = [TermGroupView(en=("counterfeit",), ja=("偽物",))]


def test_the_glossary_hands_dictionary_translations_on_at_their_weight(
    jmdict: BilingualDictionary,
) -> None:
    vocab = Vocabulary(en=frozenset({"ivory", "counterfeit"}))
    g = Glossary(GLOSSARY_WORDS, dictionary=jmdict, vocabulary=vocab)
    e = g.expand("偽物の象牙", "ja", dictionary=0.5)
    assert ("象牙", "ivory", 1.0) in e.dictionary
    assert e.en_terms["ivory"] == 0.5
    assert e.en_terms["counterfeit"] == 1.0  # the glossary's translation keeps its weight
    assert e.coverage == 0.5  # coverage is the glossary's alone
    assert "ivory" not in g.expand("偽物の象牙", "ja", dictionary=0.0).en_terms
    assert e.gloss_words("en") == ["counterfeit"]
    assert e.gloss_words("en", dictionary=8) == ["counterfeit", "ivory"]


def test_only_a_words_best_translation_joins_the_fulltext_query(
    jmdict: BilingualDictionary,
) -> None:
    vocab = Vocabulary(en=frozenset({"puppy", "dog", "ivory"}))
    e = Glossary([], dictionary=jmdict, vocabulary=vocab).expand("子犬", "ja", dictionary=1.0)
    assert {w for _, w, _ in e.dictionary} == {"puppy", "dog"}
    assert e.en_terms == {"puppy": 1.0}  # "dog", a later gloss, would find every dog
    assert e.gloss_words("en", dictionary=8) == ["puppy", "dog"]  # both lend the vector meaning
    assert e.gloss_words("en", dictionary=1) == ["puppy"]


def test_a_glossary_without_a_dictionary_translates_nothing_more() -> None:
    e = Glossary(GLOSSARY_WORDS).expand("偽物の象牙", "ja", dictionary=1.0)
    assert e.dictionary == [] and set(e.en_terms) == {"counterfeit"}
