"""What the templates show, shaped from the API's response models (no I/O here)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ontology.rules import is_due_soon, is_outdated_translation, is_stale
from search_api.models import (
    DocumentResponse,
    SearchResult,
    SectionOut,
    SectionPassage,
    VersionOut,
)


# --- search cards -----------------------------------------------------------------------
def related_groups(result: SearchResult) -> list[tuple[str, list[Any]]]:
    """The related statements of a card, by relation: what applies here (its exceptions,
    enforcement, escalation, in that order), then what it applies to."""
    order = {"exception": 0, "enforcement": 1, "escalation": 2, "policy": 3}
    groups = []
    for relation in ("applied_by", "applies_to"):
        items = [r for r in result.related if r.relation == relation]
        items.sort(key=lambda r: (order.get(r.kind, 9), r.item_id))
        if items:
            groups.append((relation, items))
    return groups


def document_link(doc_id: str, item_id: str | None, section: str | None) -> str:
    """The document page on one statement (`?item=p2#p2`) or section (`?section=..#..`):
    the SOP's own anchors are the page's element ids, so `#p2` alone works too."""
    base = f"/documents/{quote(doc_id, safe='')}"
    if item_id:
        return f"{base}?item={quote(item_id, safe='')}#{quote(item_id, safe='')}"
    if section:
        return f"{base}?section={quote(section, safe='')}#{quote(section, safe='')}"
    return base


# --- document page ----------------------------------------------------------------------
@dataclass
class Row:
    item_id: str | None
    kind: str | None
    cells: dict[str, SectionPassage] = field(default_factory=dict)
    cited: bool = False


@dataclass
class SectionRow:
    key: str
    anchor: str | None
    kind: str | None
    headings: dict[str, str | None] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    cited: bool = False


@dataclass
class DocumentView:
    doc: DocumentResponse
    langs: list[str]  # the languages of the current versions, the reader's language first
    current: dict[str, VersionOut]
    sections: list[SectionRow]
    title: str
    title_lang: str
    stale: list[VersionOut]
    due_soon: list[VersionOut]
    outdated: list[VersionOut]
    cited_item: str | None
    cited_section: str | None


def document_view(
    doc: DocumentResponse,
    ui_lang: str,
    item: str | None,
    section: str | None,
    today: dt.date,
    due_within_days: int,
) -> DocumentView:
    current = {v.lang: v for v in doc.versions if v.current and not v.retired}
    langs = sorted(current, key=lambda lang: (lang != ui_lang, lang != doc.source_lang, lang))
    order: list[str] = []
    by_key: dict[str, dict[str, SectionOut]] = {}
    for lang in langs:
        for sec_out in current[lang].sections or []:
            k = sec_out.align_key or sec_out.anchor or sec_out.key
            if k not in by_key:
                order.append(k)
                by_key[k] = {}
            by_key[k][lang] = sec_out
    sections: list[SectionRow] = []
    cited_item = None
    cited_section = None
    for k in order:
        per = by_key[k]
        first = per[next(lang for lang in langs if lang in per)]
        sec = SectionRow(key=k, anchor=first.anchor or k, kind=first.kind)
        rows: dict[tuple[str, Any], Row] = {}
        for lang in langs:
            s = per.get(lang)
            if s is None:
                continue
            sec.headings[lang] = s.heading
            para = 0
            for p in s.passages:
                rk: tuple[str, Any]
                if p.item_id:
                    rk = ("item", p.item_id)
                else:
                    rk = ("para", para)
                    para += 1
                row = rows.get(rk)
                if row is None:
                    row = rows[rk] = Row(item_id=p.item_id, kind=p.kind)
                    sec.rows.append(row)
                row.cells[lang] = p
        for row in sec.rows:
            if item and row.item_id == item:
                row.cited = True
                cited_item = item
        if section and section in (sec.anchor, sec.key):
            sec.cited = True
            cited_section = sec.anchor
        sections.append(sec)
    if item and cited_item is None:  # `?item=` naming a section's anchor
        for sec in sections:
            if item == sec.anchor:
                sec.cited = True
                cited_section = sec.anchor
    title_lang = ui_lang if ui_lang in current else (langs[0] if langs else ui_lang)
    title_version = current.get(title_lang) or (doc.versions[0] if doc.versions else None)
    title = (title_version.title if title_version else None) or doc.id
    stale = [v for v in current.values() if is_stale(v.review_by, today)]
    due = [v for v in current.values() if is_due_soon(v.review_by, today, due_within_days)]
    outdated = [
        v
        for v in current.values()
        if v.translation_of_lang
        and v.translation_of_lang in current
        and is_outdated_translation(
            v.translation_of_version, current[v.translation_of_lang].version
        )
    ]
    return DocumentView(
        doc=doc,
        langs=langs,
        current=current,
        sections=sections,
        title=title,
        title_lang=title_version.lang if title_version else ui_lang,
        stale=stale,
        due_soon=due,
        outdated=outdated,
        cited_item=cited_item,
        cited_section=cited_section,
    )
