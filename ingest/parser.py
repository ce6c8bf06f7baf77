"""One SOP file -> a ParsedFile, or the errors that keep it out of the graph.

The contract is the SOP authoring format (rules: docs/lint-rules.md): everything the format
allows is accepted; everything that breaks it becomes an `Issue` naming the file, the line
and the rule. Bad content never raises. Checks that need only this file (duplicate item ids,
`applies_to` targets) live here; checks that need other files live in `ingest.corpus`.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import re
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from typing_extensions import TypeIs
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ingest.model import Block, FrontMatter, Issue, Item, Link, ParsedFile, Section, Severity
from ontology.taxonomy import Taxonomy
from ontology.vocabulary import (
    ALL_MARKETS,
    DEPENDENT_KINDS,
    LANGUAGES,
    MARKETS,
    STATEMENT_SECTION_KINDS,
    SectionKind,
    section_kind,
)
from ontology.yaml_errors import yaml_problem

DOC_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]*")
# Unicode like anchors (a Japanese team may number its statements 方針1 or p２), and a dot
# for sub-statements (p1.1).
ITEM_ID_RE = re.compile(r"\w(?:[\w.-]*\w)?")
ANCHOR_RE = re.compile(r"\w[\w-]*")  # \w is Unicode: an anchor may be written in Japanese
ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{8}")  # ISO 8601's extended and basic forms
TRANSLATION_OF_RE = re.compile(r"(?P<lang>[a-z]{2,3}(?:-[A-Za-z0-9]+)?)@(?P<version>\S+)")

REQUIRED_KEYS = ("id", "lang", "title", "topic", "markets", "owner", "version", "effective")
OPTIONAL_KEYS = ("review_by", "translation_of", "regulations", "supersedes")

_LINE_SEPARATORS = {0x2028: " ", 0x2029: " ", 0x85: " "}
# A tab after `key:` or a list's `-` and before the value, kept in group 1 without the tab.
_SEPARATING_TAB_RE = re.compile(r"^(\s*(?:-|[^\s#'\"-][^:#]*:)[ ]*)\t[ \t]*(?=\S)")
_NULL_TAG = "tag:yaml.org,2002:null"
_BOOL_TAG = "tag:yaml.org,2002:bool"

# Markdown line shapes (CommonMark-ish: up to 3 spaces may precede a block marker).
# Japanese input methods type an ideographic space (U+3000) where a space is meant: it
# separates a heading's or a list item's marker from its text as a space does.
_HEADING_RE = re.compile(r"(#{1,6})(?:[ \t\u3000]+(.*))?")
_CLOSING_HASHES_RE = re.compile(r"(?:^|[ \t]+)#+$")
_ANCHOR_TAIL_RE = re.compile(r"[ \t]*\{#([^{}]*)\}$")
_LIST_RE = re.compile(r"( {0,3})([-*+]|\d{1,9}[.)])(?:[ \t\u3000]+(.*))?")
_FENCE_RE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_BREAK_RE = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*")
# A line of `=` or `-` right under a paragraph makes it a heading (CommonMark's Setext
# headings: level 1 and 2), before it can be read as a thematic break or a list item.
_SETEXT_RE = re.compile(r"(=+|-+)[ \t]*")
_LINK_RE = re.compile(r"\[\[([^\[\]#|]*)(?:#([^\[\]|]*))?(?:\|[^\[\]]*)?\]\]")
_CODE_SPAN_RE = re.compile(r"(`+).+?\1")
# An attribute block: `{#id ...}`, or `{key=value ...}` without an id.
_ATTR_START_RE = re.compile(r"\{\s*(?:#|[A-Za-z_][\w-]*=)")
# What an author meant as an attribute block but the format cannot read as one: after a stray
# marker (`・`, `-` with no space, `2．`) or in full-width braces (`｛＃p2｝`).
_ATTR_NEAR_START_RE = re.compile(
    r"(?:[-*+・•]|\d{1,9}[.)．）])?[ \t\u3000]*[{｛][ \t\u3000]*(?:[#＃]|[A-Za-z_][\w-]*=)"
)
_UNREAD_STATEMENT = (
    "this looks like a statement but is read as {}: start it with a list marker and a space "
    "(`- `) and write the attribute block as `{{#id ...}}`"
)
# `applies_to=p1, p2`: the next entry of a list value written with a space after its comma.
_LIST_MORE_RE = re.compile(r"\s+([^\s\"=#{}]+)(?=\s|$)")
_ATTR_TOKEN_RE = re.compile(
    r'#(?P<id>[^\s{}]+)|(?P<key>[A-Za-z_][\w-]*)=(?:"(?P<quoted>[^"]*)"|(?P<value>[^\s"]+))'
)

UnitKind = Literal["item", "list", "para", "fence"]


# ---------------------------------------------------------------------------- reporting


@dataclass
class _Reporter:
    """Collects the issues of one file."""

    path: str
    issues: list[Issue] = field(default_factory=list)

    def error(self, line: int, rule: str, message: str) -> None:
        self.issues.append(Issue(self.path, line, rule, message))

    def warning(self, line: int, rule: str, message: str) -> None:
        self.issues.append(Issue(self.path, line, rule, message, Severity.WARNING))

    @property
    def failed(self) -> bool:
        return any(i.severity is Severity.ERROR for i in self.issues)


# ---------------------------------------------------------------------------- entry points


def parse_file(
    path: Path, rel_path: str, taxonomy: Taxonomy
) -> tuple[ParsedFile | None, list[Issue]]:
    """Parse one SOP file. Returns None (and at least one error) when it breaks the format."""
    try:
        data = path.read_bytes()
    except OSError as e:
        return None, [Issue(rel_path, 0, "read", f"cannot read the file: {e.strerror or e}")]
    return parse_bytes(data, path, rel_path, taxonomy)


def parse_bytes(
    data: bytes, path: Path, rel_path: str, taxonomy: Taxonomy
) -> tuple[ParsedFile | None, list[Issue]]:
    """Parse the bytes of one SOP file (what `parse_file` does after reading it)."""
    rep = _Reporter(rel_path)
    head = _read_front_matter(data, rep)
    if head is None:
        return None, rep.issues
    lines, close, fields = head
    meta = _front_matter(fields, taxonomy, rep) if fields is not None else None

    body = _BodyParser(rep, meta.id if meta else "")
    for no, line in enumerate(lines[close + 1 :], start=close + 2):
        body.feed(no, line)
    sections, intro = body.finish()
    _check_statements(sections, rep)

    if meta is None or rep.failed:
        return None, rep.issues
    parsed = ParsedFile(
        path=path.resolve(),
        rel_path=rel_path,
        meta=meta,
        title_line=body.title,
        title_links=body.title_links,
        sections=sections,
        content_hash=hashlib.sha256(data).hexdigest(),
        intro=intro,
        meta_lines=dict(fields.lines) if fields is not None else {},
    )
    return parsed, rep.issues


def _read_front_matter(data: bytes, rep: _Reporter) -> tuple[list[str], int, _Fields | None] | None:
    """The file's lines, the index of the line closing its front matter and the front
    matter's fields (None when its YAML is broken); None when the text cannot be read or
    has no front matter. Each problem is reported on `rep`."""
    text = _decode(data, rep)
    if text is None:
        return None
    # Split on "\n" only: str.splitlines() also breaks on form feeds and U+2028, which
    # would make our line numbers disagree with the author's editor.
    lines = [ln.removesuffix("\r") for ln in text.split("\n")]
    close = _front_matter_end(lines, rep)
    if close is None:
        return None
    return lines, close, _compose_front_matter(_front_matter_text(lines[1:close], rep), rep)


def declared_identity(path: Path) -> tuple[str, str] | None:
    """The (id, lang) a file's front matter declares, as written, when it can be read even
    though the file breaks the format; else None. For the corpus checks only: a broken
    version is not a missing one."""
    try:
        head = _read_front_matter(path.read_bytes(), _Reporter(str(path)))
    except OSError:
        return None
    fields = head[2] if head is not None else None
    if fields is None:
        return None
    found = [fields.nodes.get(key) for key in ("id", "lang")]
    values = [n.value.strip() for n in found if isinstance(n, ScalarNode)]
    return (values[0], values[1]) if len(values) == 2 and all(values) else None


def _decode(data: bytes, rep: _Reporter) -> str | None:
    # A UTF-8 byte order mark is still UTF-8 (some Windows editors add one): drop it.
    raw = data.removeprefix(codecs.BOM_UTF8)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        rep.error(line, "encoding", f"byte 0x{raw[e.start]:02x} is not UTF-8; save as UTF-8")
        return None


# ---------------------------------------------------------------------------- front matter


@dataclass
class _Fields:
    """The front matter as YAML nodes (not Python values) with the line of each key.

    Working on nodes keeps what the author typed: `version: 2.10` stays "2.10" instead of
    the float 2.1, `lang: no` stays "no" instead of False, and a date is checked as text, so
    `2026-02-30` is a `date` error on its line rather than a crash in the YAML loader.
    """

    nodes: dict[str, Node]
    lines: dict[str, int]

    def line(self, key: str) -> int:
        return self.lines.get(key, 1)


def _front_matter_end(lines: list[str], rep: _Reporter) -> int | None:
    """Index of the line closing the front matter, or None (and an error)."""
    if lines[0].rstrip() != "---":
        rep.error(1, "front-matter", "the file must start with front matter: a `---` line")
        return None
    for i in range(1, len(lines)):
        if lines[i].rstrip() in ("---", "..."):
            return i
    rep.error(1, "front-matter", "the front matter is not closed: add a `---` line after it")
    return None


def _front_matter_text(lines: list[str], rep: _Reporter) -> str:
    """The front matter's lines as YAML text, each invisible line separator (U+2028, U+2029,
    U+0085, which YAML 1.1 reads as line breaks and an editor does not show) read as a space
    with a warning on its line: otherwise the YAML parser's line numbers run ahead of the
    author's, and a title pasted with one breaks in two."""
    for no, line in enumerate(lines, start=2):
        for char in sorted({c for c in line if ord(c) in _LINE_SEPARATORS}):
            rep.warning(
                no,
                "invisible-character",
                f"an invisible line separator (U+{ord(char):04X}) is read as a space",
            )
    return "\n".join(lines).translate(_LINE_SEPARATORS)


def _compose_front_matter(text: str, rep: _Reporter) -> _Fields | None:
    """YAML -> nodes by key. Line 1 of the YAML text is line 2 of the file."""
    try:
        root = _compose_yaml(text)
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 2 if e.problem_mark else 2
        rep.error(line, "yaml", yaml_problem(e))
        return None
    except yaml.YAMLError as e:
        # A character YAML does not allow (NUL, other controls) is a ReaderError: it has a
        # position in the text, not a mark.
        at = getattr(e, "position", None)
        line = text.count("\n", 0, at) + 2 if isinstance(at, int) else 2
        rep.error(line, "yaml", yaml_problem(e))
        return None
    fields = _Fields({}, {})
    if root is None:
        return fields
    if not isinstance(root, MappingNode):
        rep.error(2, "front-matter", "front matter must be `key: value` lines")
        return None
    for key_node, value_node in root.value:
        line = key_node.start_mark.line + 2
        if not isinstance(key_node, ScalarNode):
            rep.error(line, "front-matter", "a front matter key must be plain text")
            continue
        key = key_node.value
        if key in fields.nodes:
            first = fields.lines[key]
            rep.error(line, "duplicate-key", f"`{key}` is already given on line {first}")
            continue
        fields.nodes[key] = value_node
        fields.lines[key] = line
    return fields


def _compose_yaml(text: str) -> Node | None:
    """The YAML's node tree. PyYAML refuses a tab between a key (or a list's `-`) and its
    value and a tab at the end of a line, which YAML 1.2 allows and an editor does not show;
    text it refuses is read again with those tabs, and trailing full-width spaces, made
    spaces. The first error stands when that fails too."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)  # type: ignore[no-any-return]
    except yaml.YAMLError as first:
        lenient = "\n".join(
            _SEPARATING_TAB_RE.sub(r"\1 ", line).rstrip(" \t\u3000") for line in text.split("\n")
        )
        if lenient != text:
            with suppress(yaml.YAMLError):
                return yaml.compose(lenient, Loader=yaml.SafeLoader)  # type: ignore[no-any-return]
        raise first from None


def _node_kind(node: Node) -> str:
    if isinstance(node, SequenceNode):
        return "list"
    if isinstance(node, MappingNode):
        return "mapping"
    return "value"


def _is_empty(node: Node) -> bool:
    if isinstance(node, ScalarNode):
        return node.tag == _NULL_TAG or not node.value.strip()
    return isinstance(node, SequenceNode | MappingNode) and not node.value


def _given(node: Node | None, fields: _Fields, key: str, rep: _Reporter) -> TypeIs[Node]:
    """True when the key has a value; an error when a required key is absent or empty."""
    if node is not None and not _is_empty(node):
        return True
    if key in REQUIRED_KEYS:
        what = "is missing" if node is None else "is empty"
        rep.error(fields.line(key), "required-key", f"required key `{key}` {what}")
    return False


def _text(fields: _Fields, key: str, rep: _Reporter) -> str | None:
    """A scalar field as the author typed it; None (with an error if required) when absent."""
    node = fields.nodes.get(key)
    if not _given(node, fields, key, rep):
        return None
    if not isinstance(node, ScalarNode):
        rep.error(fields.line(key), "value-type", f"`{key}` must be text, not a {_node_kind(node)}")
        return None
    return str(node.value).strip()


def _text_list(fields: _Fields, key: str, rep: _Reporter) -> list[tuple[str, int]] | None:
    """A list field as (text, line) pairs; None when absent or broken."""
    node = fields.nodes.get(key)
    if not _given(node, fields, key, rep):
        return None
    if not isinstance(node, SequenceNode):
        rep.error(fields.line(key), "value-type", f"`{key}` must be a list, e.g. `{key}: [a, b]`")
        return None
    out: list[tuple[str, int]] = []
    for element in node.value:
        line = element.start_mark.line + 2
        if not isinstance(element, ScalarNode) or _is_empty(element):
            rep.error(line, "value-type", f"each entry of `{key}` must be non-empty text")
            continue
        out.append((str(element.value).strip(), line))
    return out


def _version(fields: _Fields, rep: _Reporter) -> str | None:
    node = fields.nodes.get("version")
    if isinstance(node, ScalarNode) and node.tag == _BOOL_TAG:
        rep.error(fields.line("version"), "value-type", 'version must be a string such as "2.3"')
        return None
    return _text(fields, "version", rep)


def _date(fields: _Fields, key: str, rep: _Reporter) -> dt.date | None:
    value = _text(fields, key, rep)
    if value is None:
        return None
    if ISO_DATE_RE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass  # the right shape but no such day, e.g. 2026-02-30: reported below
    rep.error(fields.line(key), "date", f"`{key}` must be an ISO date YYYY-MM-DD, got {value!r}")
    return None


def _front_matter(fields: _Fields, taxonomy: Taxonomy, rep: _Reporter) -> FrontMatter | None:
    """Validate every key; a FrontMatter only when all of them are right."""
    for key in fields.nodes:
        if key not in REQUIRED_KEYS and key not in OPTIONAL_KEYS:
            known = ", ".join(REQUIRED_KEYS + OPTIONAL_KEYS)
            rep.warning(fields.line(key), "unknown-key", f"`{key}` is not a known key ({known})")

    doc_id = _text(fields, "id", rep)
    if doc_id is not None and not DOC_ID_RE.fullmatch(doc_id):
        rep.error(fields.line("id"), "id", f"id {doc_id!r} must match [a-z0-9][a-z0-9-]*")
    lang = _text(fields, "lang", rep)
    if lang is not None and lang not in LANGUAGES:
        known = ", ".join(LANGUAGES)
        rep.error(fields.line("lang"), "lang", f"lang {lang!r} is not one of {known}")
    title = _text(fields, "title", rep)
    owner = _text(fields, "owner", rep)
    topic = _text(fields, "topic", rep)
    if topic is not None and topic not in taxonomy:
        near = ", ".join(taxonomy.nearest(topic)) or "the taxonomy has no topics"
        rep.error(fields.line("topic"), "topic", f"unknown topic {topic!r}; nearest known: {near}")
    markets = _markets(fields, rep)
    version = _version(fields, rep)
    effective = _date(fields, "effective", rep)
    review_by = _date(fields, "review_by", rep)
    translation_of = _translation_of(fields, lang, rep)
    regulations = _text_list(fields, "regulations", rep)
    supersedes = _text(fields, "supersedes", rep)
    if supersedes is not None and not DOC_ID_RE.fullmatch(supersedes):
        rep.error(fields.line("supersedes"), "supersedes", f"{supersedes!r} is not a document id")
    elif supersedes is not None and supersedes == doc_id:
        rep.error(fields.line("supersedes"), "supersedes", "a document cannot supersede itself")

    if (
        rep.failed  # front matter comes first: any error so far is one of its own
        or doc_id is None
        or lang is None
        or title is None
        or topic is None
        or markets is None
        or owner is None
        or version is None
        or effective is None
    ):
        return None
    return FrontMatter(
        id=doc_id,
        lang=lang,
        title=title,
        topic=topic,
        markets=markets,
        owner=owner,
        version=version,
        effective=effective,
        review_by=review_by,
        translation_of=translation_of,
        regulations=tuple(text for text, _ in regulations or []),
        supersedes=supersedes,
    )


def _markets(fields: _Fields, rep: _Reporter) -> tuple[str, ...] | None:
    entries = _text_list(fields, "markets", rep)
    if entries is None:
        return None
    known = (*MARKETS, ALL_MARKETS)
    out: list[str] = []
    for code, line in entries:
        if code not in known:
            rep.error(line, "markets", f"unknown market {code!r}; use {', '.join(known)}")
        elif code not in out:
            out.append(code)
    return tuple(out)


def _translation_of(fields: _Fields, lang: str | None, rep: _Reporter) -> tuple[str, str] | None:
    value = _text(fields, "translation_of", rep)
    if value is None:
        return None
    line = fields.line("translation_of")
    m = TRANSLATION_OF_RE.fullmatch(value)
    if not m:
        rep.error(line, "translation-of", f"{value!r} must be `lang@version`, e.g. en@2.3")
        return None
    source = m.group("lang")
    if source not in LANGUAGES:
        rep.error(line, "translation-of", f"{source!r} is not one of {', '.join(LANGUAGES)}")
        return None
    if source == lang:
        rep.error(line, "translation-of", f"a {lang} version cannot be a translation of {lang}")
        return None
    return source, m.group("version")


# ---------------------------------------------------------------------------- body


@dataclass
class _Unit:
    """A list item, paragraph or code fence whose lines are still being read."""

    kind: UnitKind
    line: int
    content_col: int  # indentation stripped from continuation lines
    lines: list[tuple[int, str, bool]] = field(default_factory=list)  # (line, text, is code)


@dataclass
class _SectionDraft:
    heading: str
    anchor: str | None
    kind: SectionKind
    order: int
    line: int
    items: list[Item] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    links: tuple[Link, ...] = ()  # in the heading

    @property
    def has_statements(self) -> bool:
        return self.kind in STATEMENT_SECTION_KINDS

    def freeze(self, implied: str | None = None) -> Section:
        return Section(
            heading=self.heading,
            anchor=self.anchor,
            kind=self.kind,
            order=self.order,
            line=self.line,
            items=tuple(self.items),
            blocks=tuple(self.blocks),
            implied=implied,
            links=self.links,
        )


@dataclass(frozen=True)
class _Attributes:
    item_id: str | None = None
    applies_to: tuple[str, ...] = ()
    others: dict[str, str] = field(default_factory=dict)


class _BodyParser:
    """Reads the body line by line: title, sections, statements and prose blocks."""

    def __init__(self, rep: _Reporter, doc_id: str) -> None:
        self.rep = rep
        self.doc_id = doc_id  # what `[[#anchor]]` (a link inside this document) points at
        self.title: str | None = None
        self.title_links: tuple[Link, ...] = ()
        self.seen_content = False
        self.intro: list[Block] = []
        self.sections: list[_SectionDraft] = []
        self.anchors: dict[str, int] = {}
        self.subheading: str | None = None
        self.unit: _Unit | None = None
        self.after_blank = False
        self.fence: tuple[str, int, int] | None = None  # (char, length, line) of an open fence
        self.comment_line: int | None = None  # where an open HTML comment started

    # -- line dispatch

    def feed(self, no: int, raw: str) -> None:
        line = raw.expandtabs(4).rstrip()
        if self.comment_line is not None:
            if "-->" in line:
                self.comment_line = None
            return
        if self.fence is not None:
            self._fence_line(no, line)
            return
        if not line:
            self.after_blank = True
            if self.unit is not None and self.unit.kind == "para":
                self._close()
            return
        self._content_line(no, line)
        self.after_blank = False

    def _content_line(self, no: int, line: str) -> None:
        indent = len(line) - len(line.lstrip(" "))
        stripped = line.lstrip(" ")
        if stripped.startswith("<!--"):
            # Comments are the author's notes (or text switched off): never content.
            if "-->" not in stripped[4:]:
                self.comment_line = no
            return
        unit = self.unit
        if unit is not None and unit.kind in ("item", "list") and indent >= 2:
            self._append(no, line)  # nested content of the open list item
            return
        if (
            indent <= 3
            and unit is not None
            and unit.kind == "para"
            and _SETEXT_RE.fullmatch(stripped)
        ):
            self.unit = None
            text = " ".join(text.strip() for _, text, _ in unit.lines)
            # The underlined paragraph was no content of its own: it may be the title.
            self.seen_content = bool(self.sections or self.intro or self.title is not None)
            self._heading(unit.line, 1 if stripped[0] == "=" else 2, text)
            return
        if indent <= 3:
            heading = _HEADING_RE.fullmatch(stripped)
            if heading:
                self._heading(no, len(heading.group(1)), heading.group(2) or "")
                return
            if _fence_opener(line):
                self._open(_Unit("fence", no, indent))
                self._append(no, line)  # records the open fence
                return
            if _BREAK_RE.fullmatch(line):
                self._close()
                return
        marker = _LIST_RE.fullmatch(line)
        if marker:
            self._open_list_item(no, marker)
            return
        lazy = unit is not None and unit.kind in ("item", "list") and not self.after_blank
        if unit is not None and (unit.kind == "para" or lazy):
            if _ATTR_NEAR_START_RE.match(stripped):
                self.rep.warning(
                    no, "attribute-in-prose", _UNREAD_STATEMENT.format("the text above")
                )
            self._append(no, line)
        else:
            self._open(_Unit("para", no, 0))
            self._append(no, line)

    def _fence_line(self, no: int, line: str) -> None:
        assert self.unit is not None and self.fence is not None  # a fence lives in a unit
        self._append_text(no, line, code=True)
        char, length, _ = self.fence
        closing = line.strip()
        if closing and set(closing) == {char} and len(closing) >= length:
            self.fence = None
            if self.unit.kind == "fence":
                self._close()

    # -- units

    def _open(self, unit: _Unit) -> None:
        self._close()
        self.unit = unit
        self.seen_content = True

    def _open_list_item(self, no: int, marker: re.Match[str]) -> None:
        section = self.sections[-1] if self.sections else None
        kind: UnitKind = "item" if section is not None and section.has_statements else "list"
        content = marker.group(3)
        col = marker.start(3) if content is not None else marker.end(2) + 1
        self._open(_Unit(kind, no, col))
        assert self.unit is not None
        self.unit.lines.append((no, content or "", False))

    def _append(self, no: int, line: str) -> None:
        assert self.unit is not None
        if self.after_blank and self.unit.lines:
            self.unit.lines.append((no - 1, "", False))  # keeps paragraphs of an item apart
        # A fence opens a code unit, or code inside a list item; in a paragraph it is text.
        fence = _fence_opener(line.lstrip(" ")) if self.unit.kind != "para" else None
        if fence:
            self.fence = (fence[0], len(fence), no)
            self._append_text(no, line, code=True)
            return
        self._append_text(no, line, code=False)

    def _append_text(self, no: int, line: str, code: bool) -> None:
        assert self.unit is not None
        indent = len(line) - len(line.lstrip(" "))
        self.unit.lines.append((no, line[min(indent, self.unit.content_col) :], code))

    def _close(self) -> None:
        unit, self.unit = self.unit, None
        if unit is None:
            return
        section = self.sections[-1] if self.sections else None
        if unit.kind == "item" and section is not None:
            self._add_item(unit, section)
        else:
            self._add_block(unit, section)

    def _add_item(self, unit: _Unit, section: _SectionDraft) -> None:
        head_no, head, _ = unit.lines[0]
        attrs, rest = self._attributes(head_no, head)
        text = _join([rest] + [text for _, text, _ in unit.lines[1:]])
        if not text:
            self.rep.error(head_no, "empty-item", "a statement needs text after its attributes")
        section.items.append(
            Item(
                item_id=attrs.item_id,
                kind=STATEMENT_SECTION_KINDS[section.kind],
                text=text,
                line_start=unit.line,
                line_end=_last_line(unit),
                order=len(section.items),
                applies_to=attrs.applies_to,
                attrs=attrs.others,
                links=self._links(unit),
            )
        )

    def _add_block(self, unit: _Unit, section: _SectionDraft | None) -> None:
        text = _join([text for _, text, _ in unit.lines])
        if not text:
            return  # an empty list marker: nothing to index
        if unit.kind in ("list", "para") and _ATTR_NEAR_START_RE.match(text):
            if section is not None and section.has_statements:
                message = _UNREAD_STATEMENT.format("prose")
            else:
                where = f"section {section.heading!r}" if section else "the text before any section"
                if section is not None and section.anchor is not None:
                    where += f" (its anchor {{#{section.anchor}}} names no statement kind)"
                message = (
                    f"an attribute block in {where} is kept as plain text; statements are read "
                    "only in policy, exceptions, enforcement and escalation sections"
                )
            self.rep.warning(unit.line, "attribute-in-prose", message)
        blocks = section.blocks if section is not None else self.intro
        blocks.append(
            Block(
                text=text,
                line_start=unit.line,
                line_end=_last_line(unit),
                order=len(blocks),
                links=self._links(unit),
                subheading=self.subheading,
            )
        )

    # -- headings

    def _heading(self, no: int, level: int, raw_text: str) -> None:
        text = _CLOSING_HASHES_RE.sub("", raw_text.strip()).strip()
        self._close()
        if level == 1:
            if self.title is None and not self.seen_content and text:
                self.title = text
                self.title_links = self._links(_Unit("para", no, 0, [(no, text, False)]))
                self.seen_content = True
            elif not text:
                self.rep.error(no, "heading", "the `#` title heading is empty")
            else:
                self.rep.error(
                    no,
                    "heading",
                    "a `#` heading is allowed once, as the title before any other content; "
                    "use `##` for a section or `###` inside one",
                )
            return
        self.seen_content = True
        if level >= 3:
            # Sub-headings inside a section (or the intro) are prose structure: the blocks
            # after one remember it, and statements are unaffected.
            self.subheading = _ANCHOR_TAIL_RE.sub("", text).strip() or None
            return
        anchor, heading = self._split_anchor(no, text)
        if not heading:
            self.rep.error(no, "heading", "a `##` section heading needs text")
        if anchor is not None:
            if anchor in self.anchors:
                self.rep.error(
                    no,
                    "duplicate-anchor",
                    f"anchor {{#{anchor}}} is already used on line {self.anchors[anchor]}",
                )
            else:
                self.anchors[anchor] = no
        self.subheading = None
        self.sections.append(
            _SectionDraft(
                heading=heading,
                anchor=anchor,
                kind=section_kind(anchor, heading),
                order=len(self.sections),
                line=no,
                links=self._links(_Unit("para", no, 0, [(no, heading, False)])),
            )
        )

    def _split_anchor(self, no: int, text: str) -> tuple[str | None, str]:
        m = _ANCHOR_TAIL_RE.search(text)
        if m:
            name = m.group(1).strip()
            if not ANCHOR_RE.fullmatch(name):
                self.rep.error(
                    no, "anchor", f"anchor {{#{name}}} must be one word of letters, digits, - or _"
                )
                return None, text[: m.start()].strip()
            return name, text[: m.start()].strip()
        if "{#" in text:
            self.rep.error(no, "anchor", "an anchor must end the heading: `## Heading {#name}`")
        return None, text

    # -- inline syntax

    def _attributes(self, no: int, head: str) -> tuple[_Attributes, str]:
        """Split `{#id key=value ...} text` into the attributes and the text."""
        if not _ATTR_START_RE.match(head):
            if _ATTR_NEAR_START_RE.match(head):
                self.rep.warning(
                    no,
                    "attribute-in-prose",
                    "this attribute block is read as the statement's text: write it first, "
                    "with ASCII braces, as `{#id ...}`",
                )
            return _Attributes(), head
        end = head.find("}")
        if end < 0:
            self.rep.error(no, "attribute", "the attribute block is not closed with `}`")
            return _Attributes(), head
        attrs = self._attribute_body(no, head[1:end])
        return attrs, head[end + 1 :].strip()

    def _attribute_body(self, no: int, body: str) -> _Attributes:
        item_id: str | None = None
        values: dict[str, str] = {}
        pos = 0
        while True:
            while pos < len(body) and body[pos].isspace():
                pos += 1
            if pos == len(body):
                break
            token = _ATTR_TOKEN_RE.match(body, pos)
            if token is None or (token.end() < len(body) and not body[token.end()].isspace()):
                bad = body[pos:].split()[0]
                self.rep.error(
                    no, "attribute", f"cannot read {bad!r}: write `{{#id key=value ...}}`"
                )
                return _Attributes()
            pos = token.end()
            new_id = token.group("id")
            if new_id is not None:
                # Keep the first valid id: later findings about items that name it would
                # otherwise repeat this one error.
                if item_id is not None:
                    self.rep.error(no, "attribute", "an attribute block has at most one #id")
                elif not ITEM_ID_RE.fullmatch(new_id):
                    self.rep.error(
                        no, "attribute", f"item id {new_id!r} must be letters, digits, ., - or _"
                    )
                else:
                    item_id = new_id
                continue
            key = token.group("key")
            if key in values or key == "id":
                what = "is given twice" if key in values else "is written `#id`, not `id=`"
                self.rep.error(no, "attribute", f"attribute `{key}` {what}")
                continue
            quoted = token.group("quoted")
            value = quoted if quoted is not None else token.group("value")
            while quoted is None and value.endswith(","):
                more = _LIST_MORE_RE.match(body, pos)
                if more is None:
                    break
                value += more.group(1)
                pos = more.end()
            values[key] = value
        applies_to = self._applies_to(no, values.pop("applies_to", None))
        return _Attributes(item_id, applies_to, values)

    def _applies_to(self, no: int, value: str | None) -> tuple[str, ...]:
        if value is None:
            return ()
        targets = [t.strip() for t in value.split(",")]
        bad = [t for t in targets if not ITEM_ID_RE.fullmatch(t)]
        if bad:
            self.rep.error(
                no,
                "attribute",
                f"applies_to={value!r} must be item ids separated by commas",
            )
            return ()
        return tuple(dict.fromkeys(targets))

    def _links(self, unit: _Unit) -> tuple[Link, ...]:
        out: list[Link] = []
        for no, text, code in unit.lines:
            if code:
                continue  # code shows syntax; it does not link
            for m in _LINK_RE.finditer(_CODE_SPAN_RE.sub("", text)):
                doc = m.group(1).strip() or self.doc_id  # `[[#anchor]]`: this document
                anchor = (m.group(2) or "").strip() or None
                if not m.group(1).strip() and anchor is None:
                    continue  # `[[]]` names nothing
                out.append(Link(target_doc=doc, target_section=anchor, line=no))
        return tuple(out)

    # -- end of file

    def finish(self) -> tuple[tuple[Section, ...], tuple[Block, ...]]:
        if self.fence is not None:
            message = "this code fence is never closed: it runs to the end of the file"
            self.rep.warning(self.fence[2], "unclosed-block", message)
            self.fence = None
        if self.comment_line is not None:
            self.rep.warning(
                self.comment_line,
                "unclosed-block",
                "this HTML comment is never closed with `-->`: it hides the rest of the file",
            )
        self._close()
        if not self.sections:
            self.rep.error(0, "no-sections", "the document has no `## Section`")
        sections = tuple(s.freeze(_implied_key(s, self.sections)) for s in self.sections)
        return sections, tuple(self.intro)


def _implied_key(section: _SectionDraft, sections: list[_SectionDraft]) -> str | None:
    """An unanchored section whose heading names a kind (`## Exceptions`, `## 例外`) is keyed
    by that kind, as if anchored, when no other section of the file has the kind or uses
    its name as anchor: it then aligns with its twin whatever the order of the sections
    around it, and `[[doc#exceptions]]` reaches it. Other unanchored sections keep their
    order (the format's rule)."""
    if section.anchor is not None or section.kind is SectionKind.OTHER:
        return None
    name = section.kind.value
    others = [s for s in sections if s is not section]
    if any(s.kind is section.kind or s.anchor == name for s in others):
        return None
    return name


def _fence_opener(line: str) -> str | None:
    """The fence (``` or ~~~, 3 or more) that opens a code block on this line, if any."""
    m = _FENCE_RE.fullmatch(line)
    if m is None or (m.group(1)[0] == "`" and "`" in m.group(2)):
        return None  # a backtick fence's info string cannot hold a backtick (CommonMark)
    return m.group(1)


def _join(texts: list[str]) -> str:
    return "\n".join(t.rstrip() for t in texts).strip()


def _last_line(unit: _Unit) -> int:
    return max((no for no, text, code in unit.lines if text.strip() or code), default=unit.line)


# ---------------------------------------------------------------------------- statements


def _check_statements(sections: tuple[Section, ...], rep: _Reporter) -> None:
    """Item ids are unique in the file, and `applies_to` names items of this file."""
    first_line: dict[str, int] = {}
    items = [it for s in sections for it in s.items]
    for it in items:
        if it.item_id is None:
            continue
        if it.item_id in first_line:
            rep.error(
                it.line_start,
                "duplicate-item-id",
                f"item id {{#{it.item_id}}} is already used on line {first_line[it.item_id]}",
            )
        else:
            first_line[it.item_id] = it.line_start
    # An item whose attribute block could not be read has lost its id and applies_to: the
    # `attribute` error says so, and a missing applies_to after it would be a false lead.
    unread = {i.line for i in rep.issues if i.rule == "attribute"}
    for it in items:
        for target in it.applies_to:
            if target == it.item_id:
                rep.error(it.line_start, "applies-to", f"{{#{target}}} applies to itself")
            elif target not in first_line:
                rep.error(
                    it.line_start,
                    "applies-to",
                    f"applies_to names {target!r}, which is not an item id of this document",
                )
        if it.kind in DEPENDENT_KINDS and not it.applies_to and it.line_start not in unread:
            name = f"{{#{it.item_id}}}" if it.item_id else f"item {it.order + 1}"
            rep.warning(
                it.line_start,
                "missing-applies-to",
                f"{it.kind} {name} has no applies_to: name the statements it belongs to, "
                "e.g. `applies_to=p1`",
            )
