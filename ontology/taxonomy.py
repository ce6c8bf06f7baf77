"""The topic taxonomy: a tree of topics with Japanese and English labels.

A topic is addressed by its path, the ids from the root joined by `/`. The project ships a
default taxonomy (`ontology/data/taxonomy.yaml`); a corpus's own `taxonomy.yaml` replaces it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from ontology.yaml_errors import YamlDataError, yaml_problem

_LINE = "__line__"


class _LineLoader(yaml.SafeLoader):
    """Safe YAML whose mappings also say the line they start on (as `__line__`), so that a
    finding about a topic can point at it."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping[_LINE] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


class TaxonomyError(YamlDataError):
    """The taxonomy data does not describe a valid topic tree."""


@dataclass(frozen=True)
class LabelGap:
    """A topic without its label in one language, shown there by another label."""

    path: str
    lang: str
    shown: str  # the label used instead
    line: int

    def message(self) -> str:
        return (
            f"topic {self.path} has no `{self.lang}` label; {self.shown!r} is shown in its "
            f"place until one is added"
        )


@dataclass(frozen=True)
class Topic:
    path: str
    id: str
    en: str
    ja: str
    parent: str | None
    children: tuple[str, ...] = field(default_factory=tuple)
    line: int = field(default=0, compare=False)  # of its `id` in the YAML; 0 when not known

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def label(self, lang: str) -> str:
        return self.ja if lang == "ja" else self.en


@dataclass(frozen=True)
class Taxonomy:
    topics: Mapping[str, Topic]
    source: str = "default"
    label_gaps: tuple[LabelGap, ...] = field(default=(), compare=False)

    def __contains__(self, path: object) -> bool:
        return path in self.topics

    def __iter__(self) -> Iterator[Topic]:
        return iter(self.topics.values())

    def get(self, path: str) -> Topic | None:
        return self.topics.get(path)

    def leaves(self) -> list[Topic]:
        return [t for t in self.topics.values() if t.is_leaf]

    def subtree(self, path: str) -> list[str]:
        """The path itself and every descendant path."""
        return [p for p in self.topics if p == path or p.startswith(path + "/")]

    def nearest(self, path: str, n: int = 3) -> list[str]:
        """Known topic paths closest to an unknown one, for error messages."""
        known = list(self.topics)
        close = difflib.get_close_matches(path, known, n=n, cutoff=0.0)
        last = path.rsplit("/", 1)[-1]
        by_leaf = [p for p in known if p.rsplit("/", 1)[-1] == last and p not in close]
        return (by_leaf + close)[:n]

    @classmethod
    def from_data(cls, data: Any, source: str = "default") -> Taxonomy:
        """A topic needs an `id`; a label missing in one language is taken from the other
        (or from the id) and recorded in `label_gaps`, as a document may exist in one
        language only."""
        if not isinstance(data, dict) or not isinstance(data.get("topics"), list):
            raise TaxonomyError("a taxonomy needs a top-level `topics:` list")
        topics: dict[str, Topic] = {}
        gaps: list[LabelGap] = []

        def walk(nodes: list[Any], parent: str | None, parent_line: int) -> list[str]:
            paths = []
            where = f"under {parent}" if parent else "under the root"
            for node in nodes:
                if not isinstance(node, dict):
                    raise TaxonomyError(f"a topic {where} is not a mapping", parent_line)
                line = int(node.get(_LINE, 0))
                topic_id = _label(node.get("id"))
                if topic_id is None or "/" in topic_id:
                    raise TaxonomyError(
                        f"a topic {where} lacks `id`, or its id has a `/` (ids are joined by "
                        f"`/` into paths)",
                        line,
                    )
                path = f"{parent}/{topic_id}" if parent else topic_id
                if path in topics:
                    raise TaxonomyError(f"topic {path} is defined twice", line)
                en, ja = _label(node.get("en")), _label(node.get("ja"))
                for lang, own, other in (("en", en, ja), ("ja", ja, en)):
                    if own is None:
                        gaps.append(LabelGap(path, lang, other or topic_id, line))
                children = node.get("children") or []
                if not isinstance(children, list):
                    raise TaxonomyError(f"the `children` of topic {path} is not a list", line)
                kids = walk(children, path, line)
                topics[path] = Topic(
                    path=path,
                    id=topic_id,
                    en=en or ja or topic_id,
                    ja=ja or en or topic_id,
                    parent=parent,
                    children=tuple(kids),
                    line=line,
                )
                paths.append(path)
            return paths

        walk(data["topics"], None, 0)
        return cls(topics=topics, source=source, label_gaps=tuple(gaps))

    @classmethod
    def from_yaml(cls, text: str, source: str) -> Taxonomy:
        try:
            data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 (a SafeLoader)
        except yaml.YAMLError as e:
            raise TaxonomyError(yaml_problem(e)) from e
        return cls.from_data(data, source=source)


def _label(value: Any) -> str | None:
    """A YAML scalar as text (ids and labels may read as numbers); None when absent or
    blank, or not a scalar."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def default_taxonomy() -> Taxonomy:
    text = resources.files("ontology").joinpath("data/taxonomy.yaml").read_text(encoding="utf-8")
    return Taxonomy.from_yaml(text, source="default")
