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

_LINE = "__line__"


class _LineLoader(yaml.SafeLoader):
    """Safe YAML whose mappings also say the line they start on (as `__line__`), so that a
    finding about a topic can point at it."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping[_LINE] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


class TaxonomyError(ValueError):
    """The taxonomy data does not describe a valid topic tree."""


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
        if not isinstance(data, dict) or not isinstance(data.get("topics"), list):
            raise TaxonomyError("a taxonomy needs a top-level `topics:` list")
        topics: dict[str, Topic] = {}

        def walk(nodes: list[Any], parent: str | None) -> list[str]:
            paths = []
            for node in nodes:
                if not isinstance(node, dict):
                    raise TaxonomyError(f"topic under {parent or 'the root'} is not a mapping")
                for key in ("id", "en", "ja"):
                    if not node.get(key):
                        raise TaxonomyError(
                            f"topic {node.get('id', '?')} under {parent or 'the root'} lacks `{key}`"
                        )
                path = f"{parent}/{node['id']}" if parent else str(node["id"])
                if path in topics:
                    raise TaxonomyError(f"topic {path} is defined twice")
                kids = walk(node.get("children") or [], path)
                topics[path] = Topic(
                    path=path,
                    id=str(node["id"]),
                    en=str(node["en"]),
                    ja=str(node["ja"]),
                    parent=parent,
                    children=tuple(kids),
                    line=int(node.get(_LINE, 0)),
                )
                paths.append(path)
            return paths

        walk(data["topics"], None)
        return cls(topics=topics, source=source)

    @classmethod
    def from_yaml(cls, text: str, source: str) -> Taxonomy:
        try:
            data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 (a SafeLoader)
        except yaml.YAMLError as e:
            raise TaxonomyError(f"invalid YAML: {e}") from e
        return cls.from_data(data, source=source)


def default_taxonomy() -> Taxonomy:
    text = resources.files("ontology").joinpath("data/taxonomy.yaml").read_text(encoding="utf-8")
    return Taxonomy.from_yaml(text, source="default")
