"""The project's exceptions. Mapped once to HTTP (search_api.errors) and once to the CLI."""

from __future__ import annotations


class SopkgError(Exception):
    """Root of every error the project raises on purpose."""


class ConfigError(SopkgError):
    """Settings or environment are not usable (missing Java, bad key file, ...)."""


class Neo4jServerError(SopkgError):
    """The local Neo4j server could not be provisioned, started or stopped."""


class GraphUnavailable(SopkgError):
    """Neo4j cannot be reached right now; callers may retry later. `unreachable`: no
    connection at all (server down or restarting), as opposed to a busy or starting one."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class GraphBusy(SopkgError):
    """Another writer (ingest, re-embed, backup, restore) holds the graph's lock."""


class EmbedderMismatch(SopkgError):
    """The graph was embedded with another model or dimension than the configured one."""


class NotFound(SopkgError):
    """A document, statement or other addressed thing does not exist."""


class InvalidInput(SopkgError):
    """A request or argument is well-formed but not acceptable (names the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
