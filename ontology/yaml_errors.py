"""Errors in the corpus's YAML files (taxonomy, glossary) as `file:line: rule: message`
findings."""

from __future__ import annotations

import yaml


def yaml_problem(error: yaml.YAMLError) -> str:
    """What PyYAML found wrong, without its multi-line dump of the context
    (`in "<unicode string>", line 3, column 1`): the finding names the line already."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem:
        return f"invalid YAML: {error.problem}"
    if isinstance(error, yaml.reader.ReaderError):  # a character YAML does not allow
        char = error.character
        shown = f"U+{char:04X}" if isinstance(char, int) else repr(char)
        return f"invalid YAML: the character {shown} is not allowed (a control character)"
    return "invalid YAML: " + " ".join(str(error).split())


class YamlDataError(ValueError):
    """A corpus YAML file's data is not what the format asks for; `line` is where (0: the
    file as a whole)."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line
