"""One mapping of Neo4j driver errors to project errors, shared by every graph store
(reader, writer, coverage, schema): whatever reaches Neo4j, an unreachable or briefly
unavailable server becomes `GraphUnavailable`, which the API answers with 503 and
Retry-After and the CLI with one line and exit code 3."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from neo4j.exceptions import (
    ClientError,
    DriverError,
    ServiceUnavailable,
    SessionExpired,
    TransientError,
)

from kg.errors import GraphUnavailable

# Client errors that say the settings are wrong (NEO4J_USER/PASSWORD, NEO4J_DATABASE), not
# the query: the graph is out of reach until an operator fixes them.
_SETUP_CODES = ("Neo.ClientError.Security.", "Neo.ClientError.Database.DatabaseNotFound")


@contextmanager
def graph_errors() -> Iterator[None]:
    try:
        yield
    except (ServiceUnavailable, SessionExpired) as e:
        raise GraphUnavailable(f"Neo4j is not reachable: {e}", unreachable=True) from e
    except ClientError as e:
        if (e.code or "").startswith("Neo.ClientError.Transaction.TransactionTimedOut"):
            # A read past its timeout, e.g. on a cold cache just after a restart or a
            # restore: the server is busy, not the request wrong; worth a retry.
            raise GraphUnavailable(f"Neo4j did not answer in time: {e.message}") from e
        if (e.code or "").startswith(_SETUP_CODES):
            # Wrong credentials or database name: the graph cannot be reached as configured.
            raise GraphUnavailable(f"Neo4j refused the connection: {e.message}") from e
        if "no such" in (e.message or "").lower() and "index" in (e.message or "").lower():
            # A graph nothing was ingested into yet has no search indexes.
            raise GraphUnavailable(
                "the graph has no search indexes yet: ingest a corpus first (sopkg ingest)"
            ) from e
        raise
    except TransientError as e:
        # Database starting, stopping or briefly unavailable: worth a retry, not a 500.
        raise GraphUnavailable(f"Neo4j is temporarily unavailable: {e.message}") from e
    except DriverError as e:
        raise GraphUnavailable(f"Neo4j driver error: {e}") from e
