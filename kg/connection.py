"""Which Neo4j to talk to, and the driver for it.

An external server when `NEO4J_URI` is set; otherwise the local `main` instance that
`sopkg neo4j start` runs (its password read from the git-ignored state folder).
"""

from __future__ import annotations

from dataclasses import dataclass

from neo4j import Driver, GraphDatabase
from neo4j.exceptions import ConfigurationError

from kg.errors import ConfigError
from kg.local_neo4j import USER, LocalNeo4j
from kg.settings import Settings


@dataclass(frozen=True)
class Connection:
    uri: str
    user: str
    password: str
    database: str
    source: str  # "external" or "local:<instance>"

    def driver(self, retry_seconds: float = 5.0) -> Driver:
        """A driver; `retry_seconds` bounds retries of transient failures (an API that
        should answer 503 quickly when Neo4j is down passes a small value)."""
        try:
            driver = GraphDatabase.driver(
                self.uri,
                auth=(self.user, self.password),
                connection_timeout=5.0,
                connection_acquisition_timeout=10.0,
                max_transaction_retry_time=retry_seconds,
                # Schema-less reads of a fresh graph warn about unknown labels; not our
                # users' news.
                notifications_min_severity="OFF",
            )
        except (ConfigurationError, ValueError, ImportError) as e:
            # A URI the driver cannot use (no scheme, http://): the setting is wrong.
            raise ConfigError(
                f"NEO4J_URI {self.uri!r} is not a Neo4j address (neo4j:// or bolt://): {e}"
            ) from e
        # No causal chaining between queries: one server has nothing to catch up with, and
        # after `sopkg restore` (an older transaction id) remembered bookmarks would make
        # every later query wait for a transaction that will never come (BookmarkTimeout).
        driver._query_bookmark_manager = None  # type: ignore[assignment]
        return driver

    def redacted(self) -> str:
        return f"{self.uri} (user {self.user}, database {self.database}, {self.source})"


def resolve_connection(settings: Settings, instance: str = "main") -> Connection:
    if settings.neo4j_uri:
        if settings.neo4j_password is None:
            raise ConfigError("NEO4J_URI is set but NEO4J_PASSWORD is not")
        return Connection(
            uri=settings.neo4j_uri,
            user=settings.neo4j_user,
            password=settings.neo4j_password,
            database=settings.neo4j_database,
            source="external",
        )
    return local_connection(LocalNeo4j(settings, instance))


def local_connection(server: LocalNeo4j) -> Connection:
    return Connection(
        uri=server.uri(),
        user=USER,
        password=server.password(),
        database="neo4j",
        source=f"local:{server.instance}",
    )
