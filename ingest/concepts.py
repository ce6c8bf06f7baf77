"""Parsed files of one document -> the records the graph writer stores (no I/O here).

Keys are deterministic, so an unchanged language version keeps its passages' keys and the
translation links of a re-ingested twin still find them:
  version    `<doc>@<lang>@<version>`
  section    `<version key>#<anchor or s<order>>`
  passage    `<section key>/<item id>` (statements), `/i<n>` (statements without id), `/b<n>`
  statement  `<doc>#<item id>` (or `<doc>#<section>-<n>` for items without id)
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ingest.model import Block, Item, Link, ParsedFile, Section
from kg.analysis import en_search_field, ja_search_field
from kg.records import (
    DocumentRecord,
    PassageRecord,
    SectionRecord,
    StatementRecord,
    VersionRecord,
)
from ontology.vocabulary import SectionKind

INTRO_KEY = "intro"

# Which derivation wrote a version: stamped on it (DocumentVersion.derivation). Raise it
# whenever a change here, in the parser or in kg.analysis makes the same file give other
# records (sections, passages, statements, embed texts, fulltext fields): the next ingest
# then re-derives the documents whose files did not change (ingest.pipeline.unchanged)
# instead of leaving them as older code wrote them, which search would read beside queries
# analysed by today's code. tests/unit/test_derivation.py fails until it is raised.
DERIVATION = 6


def version_key(doc_id: str, lang: str, version: str) -> str:
    return f"{doc_id}@{lang}@{version}"


def statement_key(doc_id: str, section: Section, item: Item) -> str:
    return f"{doc_id}#{item.item_id or f'{section.key}-{item.order + 1}'}"


def search_fields(text: str) -> tuple[str | None, str | None]:
    """(search_ja, search_en): every passage gets both fields (see kg.analysis), so a
    Japanese passage's Latin words ("LINE") and an English passage's quoted Japanese
    (並行輸入品) are found from either language."""
    return ja_search_field(text) or None, en_search_field(text) or None


_CONTEXT_CHARS = 200


def _embed_text(title: str, heading: str, text: str, context: Sequence[str] = ()) -> str:
    """What the embedder sees. The title and heading give a short statement its setting,
    and an exception, enforcement or escalation item carries the beginning of the
    statements it applies to ("First violation: ..." alone does not say of what)."""
    body = f"{title} / {heading}: {text}" if heading else f"{title}: {text}"
    if context:
        body += " (" + " / ".join(c[:_CONTEXT_CHARS] for c in context) + ")"
    return body


# A passage longer than WINDOW_SENTENCES sentences is also embedded in windows of that many
# sentences, one every WINDOW_STRIDE: a question about one of its sentences is near that
# window but far from the whole paragraph's single vector (kg.resident scores a passage by
# its best vector). Statements are one or two sentences and have none; long prose does.
WINDOW_SENTENCES = 3
WINDOW_STRIDE = 2
# After a sentence's end: a Japanese full stop or mark, or a Latin one followed by a space.
_SENTENCE_END = re.compile(r"(?<=[。！？])|(?<=[.!?])(?=\s)")


def sentences(text: str) -> list[str]:
    """The text's sentences, each with the whitespace that follows it (joining them gives
    the text back)."""
    return [s for s in _SENTENCE_END.split(text) if s.strip()]


def window_texts(title: str, heading: str, text: str, context: Sequence[str] = ()) -> list[str]:
    """The embed texts of a long passage's windows (none for a short one)."""
    parts = sentences(text)
    if len(parts) <= WINDOW_SENTENCES:
        return []
    return [
        _embed_text(title, heading, "".join(parts[i : i + WINDOW_SENTENCES]).strip(), context)
        for i in range(0, len(parts), WINDOW_STRIDE)
    ]


def _passage(
    f: ParsedFile,
    vkey: str,
    sec_key: str,
    align_key: str,
    kind: str,
    heading: str,
    suffix: str,
    order: int,
    text: str,
    lines: tuple[int, int],
    links: Sequence[str],
    item: tuple[str | None, str | None, str | None] = (None, None, None),
    context: Sequence[str] = (),
    applies_to: list[str] | None = None,
    attributes: list[str] | None = None,
) -> PassageRecord:
    title = f.meta.title
    search_text = f"{text}\n{heading}"
    ja, en = search_fields(search_text)
    return PassageRecord(
        key=f"{sec_key}/{suffix}",
        text=text,
        lang=f.meta.lang,
        doc_id=f.meta.id,
        version=f.meta.version,
        version_key=vkey,
        section_key=sec_key,
        align_key=align_key,
        section_kind=kind,
        heading_path=[title, heading] if heading else [title],
        order=order,
        line_start=lines[0],
        line_end=lines[1],
        source_path=f.rel_path,
        item_id=item[0],
        statement_key=item[1],
        statement_kind=item[2],
        applies_to=applies_to,
        attributes=attributes,
        link_targets=list(links),
        search_ja=ja,
        search_en=en,
        embed_text=_embed_text(title, heading, text, context),
        window_texts=window_texts(title, heading, text, context) or None,
    )


def _link_strings(block: Block | Item, heading_links: Sequence[Link] = ()) -> list[str]:
    """The passage's links, and those of the title and heading above it, which every passage
    under them carries (the title and heading are part of each one's heading path)."""
    return list(dict.fromkeys(
        f"{ln.target_doc}#{ln.target_section}" if ln.target_section else ln.target_doc
        for ln in (*block.links, *heading_links)
    ))  # fmt: skip


def build_version(f: ParsedFile) -> VersionRecord:
    m = f.meta
    vkey = version_key(m.id, m.lang, m.version)
    tr_lang, tr_version = m.translation_of if m.translation_of else (None, None)
    rec = VersionRecord(
        key=vkey,
        doc_id=m.id,
        lang=m.lang,
        title=m.title,
        version=m.version,
        effective=m.effective,
        review_by=m.review_by,
        translation_of_lang=tr_lang,
        translation_of_version=tr_version,
        source_path=f.rel_path,
        content_hash=f.content_hash,
        derivation=DERIVATION,
    )
    if f.intro:
        skey = f"{vkey}#{INTRO_KEY}"
        rec.sections.append(
            SectionRecord(
                skey, vkey, INTRO_KEY, None, SectionKind.OTHER.value, m.title, -1, 1, m.lang
            )
        )
        for b in f.intro:
            rec.passages.append(
                _passage(f, vkey, skey, INTRO_KEY, SectionKind.OTHER.value, "", f"b{b.order + 1}",
                         b.order, b.text, (b.line_start, b.line_end),
                         _link_strings(b, f.title_links))
            )  # fmt: skip
    texts = {it.item_id: it.text for it in f.items() if it.item_id}
    for s in f.sections:
        skey = f"{vkey}#{s.key}"
        rec.sections.append(
            SectionRecord(
                skey, vkey, s.key, s.anchor, s.kind.value, s.heading, s.order, s.line, m.lang
            )
        )
        for b in s.blocks:
            rec.passages.append(
                _passage(f, vkey, skey, s.key, s.kind.value, s.heading, f"b{b.order + 1}",
                         b.order, b.text, (b.line_start, b.line_end),
                         _link_strings(b, f.title_links + s.links))
            )  # fmt: skip
        for it in s.items:
            suffix = it.item_id or f"i{it.order + 1}"
            rec.passages.append(
                _passage(f, vkey, skey, s.key, s.kind.value, s.heading, suffix, it.order,
                         it.text, (it.line_start, it.line_end),
                         _link_strings(it, f.title_links + s.links),
                         (it.item_id, statement_key(m.id, s, it), it.kind.value),
                         [texts[t] for t in it.applies_to if t in texts],
                         [f"{m.id}#{t}" for t in it.applies_to],
                         sorted(f"{k}={v}" for k, v in it.attrs.items()))
            )  # fmt: skip
    return rec


def _source_file(files: Sequence[ParsedFile]) -> ParsedFile:
    """The version others translate: one without `translation_of`, else the first."""
    originals = [f for f in files if f.meta.translation_of is None]
    return (originals or list(files))[0]


def _statements(doc_id: str, files: Sequence[ParsedFile]) -> list[StatementRecord]:
    out: dict[str, StatementRecord] = {}
    for f in files:  # source first, so its attributes win
        for s in f.sections:
            for it in s.items:
                key = statement_key(doc_id, s, it)
                if key in out:
                    continue
                out[key] = StatementRecord(
                    key=key,
                    doc_id=doc_id,
                    item_id=it.item_id or key.split("#", 1)[1],
                    kind=it.kind.value,
                    severity=it.attrs.get("severity"),
                    applies_to=[f"{doc_id}#{t}" for t in it.applies_to],
                )
    return list(out.values())


def _pairs(
    versions: dict[str, VersionRecord], source_lang: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
    vp: list[tuple[str, str]] = []
    sp: list[tuple[str, str]] = []
    pp: list[tuple[str, str]] = []
    for v in versions.values():
        target_lang = v.translation_of_lang or source_lang
        src = versions.get(target_lang)
        if src is None or src is v:
            continue
        vp.append((v.key, src.key))
        src_sections = {s.align_key: s for s in src.sections}
        for s in v.sections:
            if s.align_key in src_sections:
                sp.append((s.key, src_sections[s.align_key].key))
        by_statement = {p.statement_key: p for p in src.passages if p.statement_key}
        src_blocks: dict[str, list[PassageRecord]] = {}
        for p in src.passages:
            if not p.statement_key:
                src_blocks.setdefault(p.align_key, []).append(p)
        my_blocks: dict[str, list[PassageRecord]] = {}
        for p in v.passages:
            if p.statement_key and p.statement_key in by_statement:
                pp.append((p.key, by_statement[p.statement_key].key))
            elif not p.statement_key:
                my_blocks.setdefault(p.align_key, []).append(p)
        for align, mine in my_blocks.items():
            theirs = src_blocks.get(align, [])
            # Paragraphs pair by position only when both sides have as many.
            if len(mine) == len(theirs):
                pp += [(a.key, b.key) for a, b in zip(mine, theirs, strict=True)]
    return vp, sp, pp


def build_document(files: Sequence[ParsedFile], corpus: str) -> DocumentRecord:
    """One document from its language versions (all sharing one id)."""
    source = _source_file(files)
    ordered = [source, *[f for f in files if f is not source]]
    versions = {f.meta.lang: build_version(f) for f in ordered}
    m = source.meta
    vp, sp, pp = _pairs(versions, m.lang)
    return DocumentRecord(
        id=m.id,
        corpus=corpus,
        topic=m.topic,
        markets=list(m.markets),
        owner=m.owner,
        regulations=sorted({r for f in files for r in f.meta.regulations}),
        supersedes=m.supersedes,
        source_lang=m.lang,
        versions=list(versions.values()),
        statements=_statements(m.id, ordered),
        version_pairs=vp,
        section_pairs=sp,
        passage_pairs=pp,
    )
