"""Shared fixtures. Integration tests talk to the real services that `make test` starts
(MEDKB_ENV=test: its own Neo4j on 7688 and its own Postgres database)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from medkb.db.migrate import migrate
from medkb.db.postgres import connect
from medkb.kb.client import GraphClient
from medkb.kb.schema import init_schema
from medkb.settings import Settings


@pytest.fixture(autouse=True)
def _fresh_extractor_cache(monkeypatch) -> None:
    """The extraction stage keeps its extractor per process; each test builds its own."""
    monkeypatch.setattr("medkb.pipelines.kb_extraction._EXTRACTORS", {})


@pytest.fixture(scope="session")
def settings() -> Settings:
    if os.environ.get("MEDKB_ENV") != "test":
        pytest.exit(
            "tests must run with MEDKB_ENV=test (use `make test`) so they never touch the demo graph",
            returncode=3,
        )
    return Settings.from_env()


@pytest.fixture(scope="session")
def migrated(settings: Settings) -> Settings:
    migrate(settings)
    return settings


def empty_database(settings: Settings) -> None:
    """Every table of the project database emptied except the migration record."""
    with connect(settings) as conn:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
            )
            tables = [r[0] for r in cur.fetchall()]
            if tables:
                # names come from the catalogue, not from input; quoted as identifiers
                cur.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")


@pytest.fixture
def emptied(migrated: Settings) -> Settings:
    """The project database emptied, without a connection held open (for tests that restart Postgres)."""
    empty_database(migrated)
    return migrated


@pytest.fixture
def pg(migrated: Settings) -> Iterator:
    """A clean project database: every table emptied except the migration record."""
    empty_database(migrated)
    with connect(migrated) as conn:
        yield conn


@pytest.fixture
def graph(settings: Settings) -> Iterator[GraphClient]:
    """The test Neo4j, emptied (data only: constraints and indexes stay) and with the schema applied."""
    with GraphClient(settings.neo4j) as client:
        # relationships first: after a full `kb seed` one node can hold 100k+ of them, and a
        # DETACH DELETE of 10k such nodes overflows the transaction memory pool
        client.write_autocommit("MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 20000 ROWS")
        client.write_autocommit("MATCH (n) CALL (n) { DELETE n } IN TRANSACTIONS OF 20000 ROWS")
        init_schema(client)
        yield client
