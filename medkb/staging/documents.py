"""Staged literature in Postgres: idempotent upserts keyed by (source, key, version)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg2.extras

from medkb.db.postgres import execute, fetch_all
from medkb.sources.citations import Citation, Retraction

STATES = ("staged", "validated", "extracted", "loaded", "quarantined")


@dataclass
class StageCounts:
    staged: int = 0  # new rows
    updated: int = 0  # same key and version, new content
    unchanged: int = 0
    retracted: int = 0
    quarantined: int = 0
    duplicates: int = 0  # the same record twice in one batch, identical content

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


_UPSERT = """
INSERT INTO staged_documents AS d
    (source, source_key, version, title, abstract, language, journal, pub_year, mesh_terms,
     content_hash, run_id, origin)
VALUES %s
ON CONFLICT (source, source_key, version) DO UPDATE SET
    title = EXCLUDED.title, abstract = EXCLUDED.abstract, language = EXCLUDED.language,
    journal = EXCLUDED.journal, pub_year = EXCLUDED.pub_year, mesh_terms = EXCLUDED.mesh_terms,
    content_hash = EXCLUDED.content_hash, run_id = EXCLUDED.run_id, origin = EXCLUDED.origin,
    state = 'staged', retracted = false, validation_notes = '[]'::jsonb, updated_at = now()
WHERE d.content_hash <> EXCLUDED.content_hash
RETURNING (xmax = 0) AS inserted, source_key
"""

# A higher Version of a key replaces the lower ones: they stay, marked superseded.
_SUPERSEDE = """
UPDATE staged_documents AS d SET superseded = true, updated_at = now()
FROM (SELECT source, source_key, max(version) AS top FROM staged_documents
      WHERE source = %s AND source_key = ANY(%s) GROUP BY source, source_key) AS m
WHERE d.source = m.source AND d.source_key = m.source_key AND d.version < m.top AND NOT d.superseded
RETURNING d.source_key
"""


def stage_citations(conn: Any, citations: Iterable[Citation], run_id: str) -> StageCounts:
    """Upsert a batch. Unchanged rows are left alone, so re-staging a file changes nothing."""
    rows = [
        (
            c.source, c.key, c.version, c.title, c.abstract, c.language, c.journal, c.pub_year,
            json.dumps(list(c.mesh_terms)), c.content_hash, run_id, c.origin or None,
        )
        for c in citations
    ]
    counts = StageCounts()
    if not rows:
        return counts
    with conn.cursor() as cur:
        result = psycopg2.extras.execute_values(cur, _UPSERT, rows, page_size=1000, fetch=True)
    inserted_keys = set()
    for inserted, key in result:
        if inserted:
            counts.staged += 1
            inserted_keys.add(key)
        else:
            counts.updated += 1
    counts.unchanged = len(rows) - counts.staged - counts.updated
    if inserted_keys:
        by_source: dict[str, list[str]] = {}
        for r in rows:
            if r[1] in inserted_keys:
                by_source.setdefault(r[0], []).append(r[1])
        for source, keys in by_source.items():
            revised = {r["source_key"] for r in fetch_all(conn, _SUPERSEDE, (source, keys))}
            # a new row that replaces an older version is an update, not a new document
            moved = len(revised & inserted_keys)
            counts.staged -= moved
            counts.updated += moved
    return counts


def retract(conn: Any, retractions: Iterable[Retraction], run_id: str) -> int:
    """Record each retraction (also for keys never staged) and mark every staged version retracted.

    Returns how many keys were retracted by this call; re-running it returns 0 and changes nothing.
    """
    n = 0
    for r in {(r.source, r.key): r for r in retractions}.values():
        new = execute(
            conn,
            """INSERT INTO retractions (source, source_key, origin, run_id) VALUES (%s, %s, %s, %s)
               ON CONFLICT (source, source_key) DO NOTHING""",
            (r.source, r.key, r.origin or None, run_id),
        )
        marked = execute(
            conn,
            """UPDATE staged_documents SET retracted = true, graph_retracted_run = NULL, run_id = %s,
                      updated_at = now()
               WHERE source = %s AND source_key = %s AND NOT retracted""",
            (run_id, r.source, r.key),
        )
        n += 1 if (new or marked) else 0
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


def keys_of(rows: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    """The (source, source_key, version) keys of staged rows, as `advance_state` takes them."""
    return [(r["source"], r["source_key"], r["version"]) for r in rows]


def retracted_keys(conn: Any) -> list[str]:
    """Every key a source has retracted, ordered."""
    rows = fetch_all(conn, "SELECT DISTINCT source_key FROM staged_documents WHERE retracted ORDER BY source_key")
    return [r["source_key"] for r in rows]


def pending_retractions(conn: Any) -> list[str]:
    """The retracted keys the graph has not taken yet, ordered: a night drops their evidence, then
    `mark_retractions_applied` (a rollback of that night makes them pending again)."""
    rows = fetch_all(conn, "SELECT DISTINCT source_key FROM staged_documents "
                     "WHERE retracted AND graph_retracted_run IS NULL ORDER BY source_key")
    return [r["source_key"] for r in rows]


def mark_retractions_applied(conn: Any, keys: list[str], run_id: str) -> int:
    """Record that `run_id` dropped these retracted keys' evidence from the graph."""
    if not keys:
        return 0
    return execute(conn, "UPDATE staged_documents SET graph_retracted_run = %s "
                   "WHERE retracted AND graph_retracted_run IS NULL AND source_key = ANY(%s)", (run_id, keys))


def recent_abstracts(conn: Any, limit: int) -> list[dict[str, Any]]:
    """The newest validated (or later) non-retracted documents that have an abstract, newest key first."""
    return fetch_all(
        conn,
        """SELECT source, source_key, version, title, abstract FROM staged_documents
           WHERE state IN ('validated', 'extracted', 'loaded') AND NOT retracted AND abstract <> ''
           ORDER BY source_key DESC LIMIT %s""",
        (limit,),
    )
