"""A YAML error as one line for a `file:line: rule: message` finding."""

from __future__ import annotations

import yaml


def yaml_problem(error: yaml.YAMLError) -> str:
    """What PyYAML found wrong, without its multi-line dump of the context
    (`in "<unicode string>", line 3, column 1`): the finding names the line already."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem:
        return f"invalid YAML: {error.problem}"
    return "invalid YAML: " + " ".join(str(error).split())
