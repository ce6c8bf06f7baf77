"""A corpus folder -> a Corpus: every SOP file parsed, then the checks that need several files.

File-local rules live in `ingest.parser`. Here: the corpus files (`taxonomy.yaml`,
`glossary.yaml`), one file per (id, lang), and the coverage findings between files (links,
translations, alignment of language versions, supersedes), which are warnings: the format
allows them, their owners should still hear about them.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import yaml

from ingest.model import Corpus, Issue, Link, ParsedFile, Severity
from ingest.parser import declared_identity, parse_file
from ontology.glossary import GlossaryError, TermGroup, glossary_from_yaml
from ontology.rules import compare_versions
from ontology.taxonomy import Taxonomy, TaxonomyError, default_taxonomy
from ontology.vocabulary import LANGUAGES
from ontology.yaml_errors import YamlDataError

TAXONOMY_FILE = "taxonomy.yaml"
GLOSSARY_FILE = "glossary.yaml"

Versions = dict[str, ParsedFile]  # lang -> the file of one document in that language
T = TypeVar("T")


def load_corpus(root: Path) -> Corpus:
    """Parse every `*.md` under root and check the corpus as a whole. Never raises on content."""
    if not root.is_dir():
        issue = Issue(str(root), 0, "corpus", "the corpus is not a folder")
        return Corpus(root=root, taxonomy=_no_taxonomy(), glossary=[], files=[], issues=[issue])
    issues: list[Issue] = []
    taxonomy = _load_taxonomy(root, issues)
    glossary = _load_glossary(root, issues)
    broken_vocabulary = frozenset(i.path for i in issues if i.severity is Severity.ERROR)
    parsed: list[ParsedFile] = []
    broken: list[str] = []
    broken_versions: set[tuple[str, str]] = set()  # (id, lang) declared by broken files
    visible, hidden = _markdown_paths(root)
    for path in visible:
        rel = path.relative_to(root).as_posix()
        if (shown := _undecodable(rel)) is not None:
            # Such a name cannot be stored, cited or printed as it is; nothing of it is read.
            issues.append(Issue(shown, 0, "file-name", "the file's name is not UTF-8: rename it"))
            continue
        result, found = parse_file(path, rel, taxonomy)
        issues.extend(found)
        if result is None:
            broken.append(rel)
            if (identity := declared_identity(path)) is not None:
                broken_versions.add(identity)
        else:
            parsed.append(result)
    files = _shared_implied_keys(_drop_duplicates(parsed, issues, broken))
    issues.extend(_hidden_paths(root, hidden))
    if not files and not broken:
        issues.append(Issue(".", 0, "empty-corpus", "no *.md file to read in the corpus: nothing is "
                            "written or retired (to take a corpus out of the graph: "
                            "sopkg corpora --remove NAME)"))  # fmt: skip
    issues.extend(check_corpus(files, broken_versions))
    issues.sort(key=lambda i: (i.path, i.line, i.rule, i.message))
    return Corpus(
        root=root,
        taxonomy=taxonomy,
        glossary=glossary,
        files=files,
        issues=issues,
        broken=sorted(broken),
        broken_vocabulary=broken_vocabulary,
    )


def _undecodable(rel: str) -> str | None:
    """None for a path that is text; else the path as it can be shown (the bytes that are
    not UTF-8 as U+FFFD). Python gives such bytes as lone surrogates, which neither Neo4j
    nor a terminal accepts."""
    try:
        rel.encode("utf-8")
        return None
    except UnicodeEncodeError:
        return rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def markdown_files(root: Path) -> list[Path]:
    """Every `*.md` under root, sorted; hidden folders (`.git`, `.github`) are not the corpus."""
    return _markdown_paths(root)[0]


def _markdown_paths(root: Path) -> tuple[list[Path], list[Path]]:
    """Every `*.md` file under root, sorted, in one walk of the tree: (the corpus, those
    under a hidden folder or with a hidden name)."""
    visible: list[Path] = []
    hidden: list[Path] = []
    for p in sorted(root.rglob("*.md")):
        if p.is_file():
            (hidden if _hidden_part(root, p) is not None else visible).append(p)
    return visible, hidden


def _hidden_part(root: Path, path: Path) -> int | None:
    """The index of the first hidden part of path below root, None when there is none."""
    parts = path.relative_to(root).parts
    return next((i for i, part in enumerate(parts) if part.startswith(".")), None)


def _hidden_paths(root: Path, paths: list[Path]) -> list[Issue]:
    """A warning for each hidden folder or file (`.drafts/`, `.old.md`) that holds SOPs
    (front matter with an `id` and a `lang`), which are left out, so that an author who
    parked a document there hears of it; a repository's `.github` templates stay quiet."""
    hidden: dict[str, int] = {}
    for p in paths:
        first = _hidden_part(root, p)
        if first is not None and _looks_like_sop(p):
            top = "/".join(p.relative_to(root).parts[: first + 1])
            hidden[top] = hidden.get(top, 0) + 1
    return [
        Issue(
            top,
            0,
            "hidden-path",
            f"{n} SOP file(s) in a hidden path, not read as part of the corpus",
            Severity.WARNING,
        )  # fmt: skip
        for top, n in sorted(hidden.items())
    ]


def _looks_like_sop(path: Path) -> bool:
    """Whether the file starts with front matter that has an `id` and a `lang` key."""
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            head = f.read(4096).lstrip("\ufeff").splitlines()
    except OSError:
        return False
    if not head or head[0].rstrip() != "---":
        return False
    front = next((head[1:i] for i in range(1, len(head)) if head[i].rstrip() == "---"), head[1:])
    keys = {line.split(":", 1)[0].strip() for line in front if ":" in line}
    return {"id", "lang"} <= keys


# ---------------------------------------------------------------------------- corpus files


def _no_taxonomy() -> Taxonomy:
    return Taxonomy(topics={}, source="none")


def _yaml_line(error: Exception) -> int:
    """The line a YAML error points at, when the error (or its cause) carries one."""
    cause = error.__cause__
    if isinstance(cause, yaml.MarkedYAMLError) and cause.problem_mark is not None:
        return cause.problem_mark.line + 1
    return 0


def _load_corpus_file(
    root: Path,
    name: str,
    parse: Callable[[str], T],
    errors: tuple[type[YamlDataError], ...],
    issues: list[Issue],
) -> T | None:
    """Parse root/name; None (with an issue whose rule is the file's stem) when it is broken."""
    rule = name.removesuffix(".yaml")
    try:
        return parse((root / name).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        issues.append(Issue(name, 0, rule, "not UTF-8; save the file as UTF-8"))
    except OSError as e:
        issues.append(Issue(name, 0, rule, f"cannot read the file: {e.strerror or e}"))
    except errors as e:
        issues.append(Issue(name, e.line or _yaml_line(e), rule, str(e)))
    return None


def _load_taxonomy(root: Path, issues: list[Issue]) -> Taxonomy:
    if (root / TAXONOMY_FILE).exists():
        own = _load_corpus_file(
            root,
            TAXONOMY_FILE,
            lambda text: Taxonomy.from_yaml(text, source=str(root / TAXONOMY_FILE)),
            (TaxonomyError,),
            issues,
        )
        # A broken corpus taxonomy leaves no topic known (rather than the built-in one), so
        # each topic error points back at the taxonomy instead of at unrelated defaults.
        if own is None:
            return _no_taxonomy()
        issues.extend(
            Issue(TAXONOMY_FILE, gap.line, "topic-translation", gap.message(), Severity.WARNING)
            for gap in own.label_gaps
        )
        return own
    try:
        return default_taxonomy()
    except (OSError, TaxonomyError) as e:
        issues.append(Issue(TAXONOMY_FILE, 0, "taxonomy", f"the built-in taxonomy is broken: {e}"))
        return _no_taxonomy()


def _load_glossary(root: Path, issues: list[Issue]) -> list[TermGroup]:
    if not (root / GLOSSARY_FILE).exists():
        return []
    groups = _load_corpus_file(root, GLOSSARY_FILE, glossary_from_yaml, (GlossaryError,), issues)
    return groups or []


# ---------------------------------------------------------------------------- documents


def _drop_duplicates(
    parsed: list[ParsedFile], issues: list[Issue], broken: list[str]
) -> list[ParsedFile]:
    """Keep the first file of each (id, lang); later ones are errors and become broken."""
    first: dict[tuple[str, str], ParsedFile] = {}
    kept: list[ParsedFile] = []
    for f in parsed:
        key = (f.meta.id, f.meta.lang)
        if key in first:
            issues.append(
                Issue(
                    f.rel_path,
                    f.meta_lines.get("id", 1),
                    "duplicate-document",
                    f"{f.meta.id} ({f.meta.lang}) is already defined by {first[key].rel_path}",
                )
            )
            broken.append(f.rel_path)
        else:
            first[key] = f
            kept.append(f)
    return kept


def _shared_implied_keys(files: list[ParsedFile]) -> list[ParsedFile]:
    """A section keyed by the kind its heading names (`Section.implied`) keeps that key only
    when every language version of its document has a section so keyed. Otherwise a heading
    that one language names (`## Scope`) and its twin's does not (`## 対象となる行為`) would
    part two sections that the format aligns by order; both then keep their order's key."""
    shared: dict[str, set[str]] = {}
    for doc_id, versions in _group(files).items():
        if len(versions) > 1:
            implied = [{s.implied for s in f.sections if s.implied} for f in versions.values()]
            shared[doc_id] = set.intersection(*implied)
    out: list[ParsedFile] = []
    for f in files:
        keep = shared.get(f.meta.id)
        sections = tuple(
            replace(s, implied=None)
            if keep is not None and s.implied is not None and s.implied not in keep
            else s
            for s in f.sections
        )
        out.append(f if sections == f.sections else replace(f, sections=sections))
    return out


def _group(files: list[ParsedFile]) -> dict[str, Versions]:
    out: dict[str, Versions] = {}
    for f in files:
        out.setdefault(f.meta.id, {})[f.meta.lang] = f
    return out


def _lang_order(lang: str) -> tuple[int, str]:
    return (LANGUAGES.index(lang) if lang in LANGUAGES else len(LANGUAGES), lang)


def reference_version(versions: Versions) -> ParsedFile:
    """The version others are compared with: the source language if one is named, else the
    version that is no translation, else the first language."""
    ordered = [versions[lang] for lang in sorted(versions, key=_lang_order)]
    named = {f.meta.translation_of[0] for f in ordered if f.meta.translation_of}
    for f in ordered:
        if f.meta.lang in named:
            return f
    originals = [f for f in ordered if f.meta.translation_of is None]
    return (originals or ordered)[0]


def _written(link: Link) -> str:
    """The link as its author wrote it, inside `[[...]]`."""
    return f"{link.target_doc}#{link.target_section}" if link.target_section else link.target_doc


def _warn(f: ParsedFile, line: int, rule: str, message: str) -> Issue:
    return Issue(f.rel_path, line, rule, message, Severity.WARNING)


def check_corpus(
    files: list[ParsedFile], broken_versions: Set[tuple[str, str]] = frozenset()
) -> list[Issue]:
    """Findings between files (all warnings): links, supersedes, translations, alignment.
    `broken_versions`: (id, lang) of files with errors, which are not missing translations
    (their errors say what to fix)."""
    by_id = _group(files)
    issues = _check_links(files, by_id) + _check_supersedes(files, by_id)
    for doc_id, versions in sorted(by_id.items()):
        broken = {lang for i, lang in broken_versions if i == doc_id}
        issues += _check_translations(doc_id, versions, broken)
        issues += _check_alignment(versions)
    return issues


def _check_links(files: list[ParsedFile], by_id: dict[str, Versions]) -> list[Issue]:
    issues: list[Issue] = []
    for f in files:
        for link in f.links():
            target = by_id.get(link.target_doc)
            if target is None:
                issues.append(
                    _warn(
                        f,
                        link.line,
                        "dangling-link",
                        f"[[{_written(link)}]] names no document in the corpus",
                    )
                )
                continue
            section = link.target_section
            if section and not any(section == s.key for v in target.values() for s in v.sections):
                issues.append(
                    _warn(
                        f,
                        link.line,
                        "dangling-section",
                        f"[[{link.target_doc}#{section}]]: {link.target_doc} has no section "
                        f"{{#{section}}}",
                    )
                )
    return issues


def _check_supersedes(files: list[ParsedFile], by_id: dict[str, Versions]) -> list[Issue]:
    return [
        _warn(
            f,
            f.meta_lines.get("supersedes", 1),
            "unknown-supersedes",
            f"supersedes {f.meta.supersedes}, which is no document in the corpus",
        )
        for f in files
        if f.meta.supersedes and f.meta.supersedes not in by_id
    ]


def _check_translations(doc_id: str, versions: Versions, broken: Set[str]) -> list[Issue]:
    issues: list[Issue] = []
    ref = reference_version(versions)
    for lang in LANGUAGES:
        if lang not in versions and lang not in broken:
            issues.append(
                _warn(
                    ref,
                    ref.meta_lines.get("lang", 1),
                    "missing-translation",
                    f"{doc_id} has no {lang} version (only {', '.join(sorted(versions))})",
                )
            )
    for f in versions.values():
        if f.meta.translation_of is None:
            continue
        src_lang, src_version = f.meta.translation_of
        line = f.meta_lines.get("translation_of", 1)
        source = versions.get(src_lang)
        if source is None and src_lang in broken:
            continue
        if source is None:
            issues.append(
                _warn(
                    f,
                    line,
                    "missing-source",
                    f"translation_of names {src_lang}, but {doc_id} has no {src_lang} version",
                )
            )
            continue
        current = source.meta.version
        order = compare_versions(src_version, current)
        if order < 0:
            issues.append(
                _warn(
                    f,
                    line,
                    "outdated-translation",
                    f"follows {src_lang}@{src_version} but {source.rel_path} is at version "
                    f"{current}: bring the translation up to date, then set translation_of",
                )
            )
        elif order > 0:
            issues.append(
                _warn(
                    f,
                    line,
                    "translation-ahead",
                    f"follows {src_lang}@{src_version}, newer than {source.rel_path} "
                    f"(version {current})",
                )
            )
    return issues


def _check_alignment(versions: Versions) -> list[Issue]:
    """Language versions must line up: same topic and markets, sections, items, applies_to."""
    if len(versions) < 2:
        return []
    ref = reference_version(versions)
    issues: list[Issue] = []
    for f in versions.values():
        if f is not ref:
            issues += _align_pair(ref, f)
    return issues


def _align_pair(ref: ParsedFile, f: ParsedFile) -> list[Issue]:
    issues: list[Issue] = []
    other = f"the {ref.meta.lang} version"

    def warn(line: int, message: str) -> None:
        issues.append(_warn(f, line, "alignment", message))

    if f.meta.topic != ref.meta.topic:
        warn(f.meta_lines.get("topic", 1), f"topic {f.meta.topic} differs from {other}'s")
    if set(f.meta.markets) != set(ref.meta.markets):
        warn(f.meta_lines.get("markets", 1), f"markets differ from {other}'s")

    ref_keys = [s.key for s in ref.sections]
    keys = [s.key for s in f.sections]
    if keys != ref_keys:
        # At the first section that differs (or the last, when this version has fewer).
        first = next(
            (i for i, (a, b) in enumerate(zip(keys, ref_keys, strict=False)) if a != b),
            min(len(keys), len(ref_keys)),
        )
        line = f.sections[min(first, len(f.sections) - 1)].line if f.sections else 0
        warn(line, f"sections {keys} differ from {other}'s {ref_keys}")

    ref_items = {it.item_id: it for it in ref.items() if it.item_id}
    items = {it.item_id: it for it in f.items() if it.item_id}
    missing = sorted(set(ref_items) - set(items))
    extra = sorted(set(items) - set(ref_items))
    if missing or extra:
        parts = [f"missing {', '.join(missing)}"] if missing else []
        parts += [f"not in {other}: {', '.join(extra)}"] if extra else []
        # At an extra item, else at the section where a missing one belongs.
        where = {s.key: s.line for s in f.sections}
        home = {it.item_id: s.key for s in ref.sections for it in s.items if it.item_id}
        lines = [items[i].line_start for i in extra] or [
            where[home[i]] for i in missing if home.get(i) in where
        ]
        warn(min(lines, default=0), f"item ids differ from {other}: {'; '.join(parts)}")
    for item_id, it in items.items():
        twin = ref_items.get(item_id)
        if twin is not None and set(twin.applies_to) != set(it.applies_to):
            warn(it.line_start, f"{{#{item_id}}} applies_to differs from {other}'s")

    # Items without an id align by order within their section: the counts must agree.
    ref_sections = {s.key: s for s in ref.sections}
    for s in f.sections:
        twin_section = ref_sections.get(s.key)
        if twin_section is None:
            continue
        n = sum(it.item_id is None for it in s.items)
        n_ref = sum(it.item_id is None for it in twin_section.items)
        if n != n_ref:
            warn(s.line, f"{n} items without an id here, {n_ref} in {other}'s section")
    return issues
