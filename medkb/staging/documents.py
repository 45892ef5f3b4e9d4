"""Staged literature in Postgres: idempotent upserts keyed by (source, key, version)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg2.extras

from medkb.db.postgres import execute, fetch_all
from medkb.sources.records import Citation, Retraction

STATES = ("staged", "validated", "extracted", "loaded", "quarantined")


@dataclass
class StageCounts:
    staged: int = 0  # new rows
    updated: int = 0  # same key and version, new content
    unchanged: int = 0
    retracted: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


_UPSERT = """
INSERT INTO staged_documents AS d
    (source, source_key, version, title, abstract, language, journal, pub_year, mesh_terms,
     content_hash, run_id)
VALUES %s
ON CONFLICT (source, source_key, version) DO UPDATE SET
    title = EXCLUDED.title, abstract = EXCLUDED.abstract, language = EXCLUDED.language,
    journal = EXCLUDED.journal, pub_year = EXCLUDED.pub_year, mesh_terms = EXCLUDED.mesh_terms,
    content_hash = EXCLUDED.content_hash, run_id = EXCLUDED.run_id, state = 'staged',
    retracted = false, updated_at = now()
WHERE d.content_hash <> EXCLUDED.content_hash
RETURNING (xmax = 0) AS inserted
"""


def stage_citations(conn: Any, citations: Iterable[Citation], run_id: str) -> StageCounts:
    """Upsert a batch. Unchanged rows are left alone, so re-staging a file changes nothing."""
    rows = [
        (
            c.source, c.key, c.version, c.title, c.abstract, c.language, c.journal, c.pub_year,
            json.dumps(list(c.mesh_terms)), c.content_hash, run_id,
        )
        for c in citations
    ]
    counts = StageCounts()
    if not rows:
        return counts
    with conn.cursor() as cur:
        result = psycopg2.extras.execute_values(cur, _UPSERT, rows, page_size=1000, fetch=True)
    for (inserted,) in result:
        if inserted:
            counts.staged += 1
        else:
            counts.updated += 1
    counts.unchanged = len(rows) - counts.staged - counts.updated
    return counts


def retract(conn: Any, retractions: Iterable[Retraction], run_id: str) -> int:
    """Mark every version of each key retracted; the rows stay."""
    keys = [(r.source, r.key) for r in retractions]
    n = 0
    for source, key in keys:
        n += execute(
            conn,
            """UPDATE staged_documents SET retracted = true, run_id = %s, updated_at = now()
               WHERE source = %s AND source_key = %s AND NOT retracted""",
            (run_id, source, key),
        )
    return n


def advance_state(conn: Any, from_state: str, to_state: str, keys: list[tuple[str, str, int]] | None = None) -> int:
    """Move rows forward (optionally only the given (source, key, version) keys)."""
    if from_state not in STATES or to_state not in STATES:
        raise ValueError(f"unknown state: {from_state!r} -> {to_state!r}; states are {STATES}")
    if keys is None:
        return execute(
            conn,
            "UPDATE staged_documents SET state = %s, updated_at = now() WHERE state = %s",
            (to_state, from_state),
        )
    with conn.cursor() as cur:
        psycopg2.extras.execute_values(
            cur,
            "UPDATE staged_documents AS d SET state = k.to_state, updated_at = now() "
            "FROM (VALUES %s) AS k(source, source_key, version, to_state, from_state) "
            "WHERE d.source = k.source AND d.source_key = k.source_key AND d.version = k.version "
            "AND d.state = k.from_state",
            [(s, k, v, to_state, from_state) for s, k, v in keys],
            page_size=len(keys) or 1,
        )
        return cur.rowcount


def documents_in_state(conn: Any, state: str, limit: int | None = None) -> list[dict[str, Any]]:
    """The latest version of each non-retracted key in a state, ordered by key."""
    return fetch_all(
        conn,
        """SELECT DISTINCT ON (source, source_key) source, source_key, version, title, abstract,
                  language, journal, pub_year, mesh_terms, content_hash, run_id
           FROM staged_documents WHERE state = %s AND NOT retracted
           ORDER BY source, source_key, version DESC LIMIT %s""",
        (state, limit),
    )


def count_by_state(conn: Any) -> dict[str, int]:
    rows = fetch_all(conn, "SELECT state, count(*) AS n FROM staged_documents GROUP BY state")
    return {r["state"]: int(r["n"]) for r in rows}
