"""Parsed SOP files and lint findings: the boundary between parsing and the graph writer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from ontology.glossary import TermGroup
from ontology.taxonomy import Taxonomy
from ontology.vocabulary import SectionKind, StatementKind


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Issue:
    """One lint finding. Printed as `file:line: rule: message`."""

    path: str  # as given to the user: relative to the corpus root when inside it
    line: int  # 1-based; 0 when the finding concerns the whole file or corpus
    rule: str
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        tag = "" if self.severity is Severity.ERROR else "warning: "
        return f"{self.path}:{self.line}: {tag}{self.rule}: {self.message}"


@dataclass(frozen=True)
class Link:
    target_doc: str
    target_section: str | None
    line: int


@dataclass(frozen=True)
class FrontMatter:
    id: str
    lang: str
    title: str
    topic: str
    markets: tuple[str, ...]
    owner: str
    version: str
    effective: dt.date
    review_by: dt.date | None = None
    translation_of: tuple[str, str] | None = None  # (source lang, source version)
    regulations: tuple[str, ...] = ()
    supersedes: str | None = None


@dataclass(frozen=True)
class Item:
    """A top-level list item of a policy/exceptions/enforcement/escalation section."""

    item_id: str | None
    kind: StatementKind
    text: str  # without the attribute block; continuation lines joined with a newline
    line_start: int
    line_end: int
    order: int  # 0-based position among the section's items
    applies_to: tuple[str, ...] = ()
    attrs: dict[str, str] = field(default_factory=dict)  # other attributes (severity=...)
    links: tuple[Link, ...] = ()


@dataclass(frozen=True)
class Block:
    """A prose paragraph, or a top-level list item, of any other section."""

    text: str
    line_start: int
    line_end: int
    order: int
    links: tuple[Link, ...] = ()
    subheading: str | None = None  # the `###`-or-deeper heading this block sits under, if any


@dataclass(frozen=True)
class Section:
    heading: str
    anchor: str | None
    kind: SectionKind
    order: int  # 0-based among the document's level-2 sections
    line: int
    items: tuple[Item, ...] = ()  # statement sections
    blocks: tuple[Block, ...] = ()  # prose (also prose that precedes a statement list)
    # Without an anchor: its kind's name, when the heading names a kind that no other
    # section of the file has (ingest.parser); the anchor the author would have written.
    implied: str | None = None
    links: tuple[Link, ...] = ()  # in its heading

    @property
    def key(self) -> str:
        """What aligns this section across languages and what links name: the anchor, else
        the kind its heading names (when no other section has it), else its order."""
        return self.anchor or self.implied or f"s{self.order + 1}"


@dataclass(frozen=True)
class ParsedFile:
    path: Path  # absolute
    rel_path: str  # relative to the corpus root, `/`-separated
    meta: FrontMatter
    title_line: str | None  # the `# Title` line's text, if any
    sections: tuple[Section, ...]
    content_hash: str  # sha256 of the file's bytes
    intro: tuple[Block, ...] = ()  # prose between the title and the first section
    # front matter key -> its line, so corpus-level findings can point at `translation_of:` etc.
    meta_lines: dict[str, int] = field(default_factory=dict)
    title_links: tuple[Link, ...] = ()  # in the `# Title` line

    def items(self) -> list[Item]:
        return [it for s in self.sections for it in s.items]

    def links(self) -> list[Link]:
        out = list(self.title_links) + [ln for b in self.intro for ln in b.links]
        for s in self.sections:
            out += list(s.links)
            out += [ln for it in s.items for ln in it.links]
            out += [ln for b in s.blocks for ln in b.links]
        return out


@dataclass
class Corpus:
    root: Path
    taxonomy: Taxonomy
    glossary: list[TermGroup]
    files: list[ParsedFile]  # only files without errors
    issues: list[Issue]  # errors and warnings over all files and the corpus
    broken: list[str] = field(default_factory=list)  # rel paths of files with errors
    # taxonomy.yaml or glossary.yaml when present but unreadable: the graph keeps the copy
    # it has (an error must not empty a corpus's glossary or topics).
    broken_vocabulary: frozenset[str] = frozenset()

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.WARNING]

    def documents(self) -> dict[str, list[ParsedFile]]:
        """Files grouped by document id, in a stable order."""
        out: dict[str, list[ParsedFile]] = {}
        for f in sorted(self.files, key=lambda f: (f.meta.id, f.meta.lang)):
            out.setdefault(f.meta.id, []).append(f)
        return out
