"""The project's one way into Neo4j: a thin, typed wrapper around the official driver.

Every statement takes its values as parameters. Reads run in read transactions (the server
refuses writes there), writes in managed write transactions that the driver retries on
transient errors (deadlocks, leader switches).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, LiteralString

import neo4j
from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, ServiceUnavailable

from medkb.settings import Neo4jTarget


class GraphUnavailable(RuntimeError):
    """Neo4j cannot be reached or refused the login; the message says what to do."""


class GraphClient:
    def __init__(self, target: Neo4jTarget) -> None:
        self.target = target
        self._driver: neo4j.Driver | None = None

    @property
    def driver(self) -> neo4j.Driver:
        if self._driver is None:
            driver = GraphDatabase.driver(
                self.target.uri,
                auth=(self.target.user, self.target.password),
                connection_timeout=10,
                max_transaction_retry_time=30,
                notifications_min_severity="WARNING",
            )
            try:
                driver.verify_connectivity()
            except AuthError:
                driver.close()
                raise GraphUnavailable(
                    f"neo4j at {self.target.uri}: authentication failed for user {self.target.user!r} "
                    "(check MEDKB_NEO4J_PASSWORD / the Airflow connection medkb_neo4j)"
                ) from None
            except (ServiceUnavailable, OSError) as exc:
                driver.close()
                raise GraphUnavailable(
                    f"neo4j at {self.target.uri} is not answering ({type(exc).__name__}); "
                    "`make services` starts it, `make services-status` checks it"
                ) from None
            self._driver = driver
        return self._driver

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()
            self._driver = None

    def read(self, query: LiteralString, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a query in a read transaction: a write in it fails on the server."""

        def work(tx: neo4j.ManagedTransaction) -> list[dict[str, Any]]:
            return [r.data() for r in tx.run(query, dict(params or {}))]

        with self.driver.session(database=self.target.database, default_access_mode=neo4j.READ_ACCESS) as s:
            return s.execute_read(work)

    def write(self, query: LiteralString, params: Mapping[str, Any] | None = None) -> dict[str, int]:
        """Run one statement in a write transaction, retried on transient errors; return its counters."""

        def work(tx: neo4j.ManagedTransaction) -> dict[str, int]:
            summary = tx.run(query, dict(params or {})).consume()
            c = summary.counters
            return {
                "nodes_created": c.nodes_created,
                "nodes_deleted": c.nodes_deleted,
                "relationships_created": c.relationships_created,
                "relationships_deleted": c.relationships_deleted,
                "properties_set": c.properties_set,
                "constraints_added": c.constraints_added,
                "indexes_added": c.indexes_added,
            }

        with self.driver.session(database=self.target.database) as s:
            return s.execute_write(work)

    def write_autocommit(self, query: LiteralString, params: Mapping[str, Any] | None = None) -> None:
        """For statements that manage their own transactions (`CALL {…} IN TRANSACTIONS`)."""
        with self.driver.session(database=self.target.database) as s:
            s.run(query, dict(params or {})).consume()

    def write_batches(
        self, query: LiteralString, rows: list[dict[str, Any]], batch_size: int = 5000, **params: Any
    ) -> dict[str, int]:
        """`UNWIND $rows` in batches, each its own retried transaction; counters summed."""
        total: dict[str, int] = {}
        for start in range(0, len(rows), batch_size):
            counts = self.write(query, {"rows": rows[start : start + batch_size], **params})
            for k, v in counts.items():
                total[k] = total.get(k, 0) + v
        return total
