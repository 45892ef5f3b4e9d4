"""The quarantine store: records held back with their reasons and raw payload until an operator acts.

It lives in staging (not validation) because both the readers' ingest step and the validation
step write to it, and data flows one way: staging never imports from validation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg2.extras

from medkb.db.postgres import execute, fetch_all

STAGES = ("ingest", "validate", "load")
# Where a released row goes back to be checked again; fixed names, never formatted from input.
_ROW_TABLES = {
    "staged_documents": ("source", "source_key"),
    "staged_clinical_records": ("source", "record_key"),
    "staged_cases": ("source", "case_key"),
}


class QuarantineError(RuntimeError):
    """A quarantine entry is missing or cannot be released; the message says which and why."""


@dataclass(frozen=True)
class QuarantineEntry:
    """One record held back: where it came from, why, and its raw payload."""

    source: str
    key: str
    version: int
    stage: str  # ingest | validate | load
    reasons: Sequence[Mapping[str, Any]]  # [{expectation, column, observed, message}]
    payload: Mapping[str, Any] = field(default_factory=dict)
    table: str | None = None  # the staging table holding the row (validate stage)


_UPSERT = """
INSERT INTO quarantine AS q (source, source_key, version, stage, reasons, payload, run_id)
VALUES %s
ON CONFLICT (source, source_key, version, stage) DO UPDATE SET
    reasons = EXCLUDED.reasons, payload = EXCLUDED.payload, run_id = EXCLUDED.run_id,
    status = 'quarantined', released_at = NULL, created_at = now()
"""


def put(conn: Any, entries: Iterable[QuarantineEntry], run_id: str) -> int:
    """Store entries (upsert: quarantining the same record again replaces its entry)."""
    merged: dict[tuple[str, str, int, str], tuple[list[Any], dict[str, Any]]] = {}
    for e in entries:
        if e.stage not in STAGES:
            raise QuarantineError(f"{e.source}:{e.key}: unknown stage {e.stage!r}; use one of {STAGES}")
        payload = dict(e.payload)
        if e.table:
            payload = {"_table": e.table, **payload}
        k = (e.source, e.key, e.version, e.stage)
        if k in merged:  # one entry per record: a second one keeps the first's reasons and payload
            reasons, earlier = merged[k]
            payload["_earlier"] = [*earlier.pop("_earlier", []), earlier]
            merged[k] = (reasons + list(e.reasons), payload)
        else:
            merged[k] = (list(e.reasons), payload)
    rows = [(*k, json.dumps(reasons, default=str), json.dumps(payload, default=str), run_id)
            for k, (reasons, payload) in merged.items()]
    if not rows:
        return 0
    with conn.cursor() as cur:
        psycopg2.extras.execute_values(cur, _UPSERT, rows, page_size=500)
    return sum(1 + len(p.get("_earlier", [])) for _, p in merged.values())


def list_entries(conn: Any, status: str | None = "quarantined", source: str | None = None,
                 limit: int = 50) -> list[dict[str, Any]]:
    """Newest first; reasons summarised, payload left out (use `get` for one entry)."""
    return fetch_all(
        conn,
        """SELECT id, source, source_key, version, stage, status, run_id, created_at,
                  (SELECT string_agg(DISTINCT r->>'expectation', ', ') FROM jsonb_array_elements(reasons) r)
                      AS failed
           FROM quarantine
           WHERE (%(status)s::text IS NULL OR status = %(status)s)
             AND (%(source)s::text IS NULL OR source = %(source)s)
           ORDER BY created_at DESC, id DESC LIMIT %(limit)s""",
        {"status": status, "source": source, "limit": limit},
    )


def get(conn: Any, entry_id: int) -> dict[str, Any]:
    rows = fetch_all(conn, "SELECT * FROM quarantine WHERE id = %s", (entry_id,))
    if not rows:
        raise QuarantineError(f"quarantine entry {entry_id} does not exist; `medkb quarantine list` shows the ids")
    return rows[0]


def release(conn: Any, entry_id: int) -> dict[str, Any]:
    """Re-queue a quarantined record after a fix.

    A row quarantined by validation goes back to state `staged`, so the next validation run checks
    it again (and quarantines it again if it still fails). An ingest-stage entry (an unreadable
    file or record) is marked released; re-run the ingest on the fixed file.
    """
    entry = get(conn, entry_id)
    if entry["status"] != "quarantined":
        raise QuarantineError(f"quarantine entry {entry_id} ({entry['source']}:{entry['source_key']}) "
                              f"is already {entry['status']}")
    requeued = 0
    table = (entry["payload"] or {}).get("_table")
    if entry["stage"] == "validate" and table:
        if table not in _ROW_TABLES:
            raise QuarantineError(f"quarantine entry {entry_id}: unknown table {table!r}")
        source_col, key_col = _ROW_TABLES[table]
        requeued = execute(
            conn,
            # table and column names come from the fixed _ROW_TABLES allow-list above
            f"UPDATE {table} SET state = 'staged', updated_at = now() "  # noqa: S608
            f"WHERE {source_col} = %s AND {key_col} = %s AND version = %s AND state = 'quarantined'",
            (entry["source"], entry["source_key"], entry["version"]),
        )
    execute(conn, "UPDATE quarantine SET status = 'released', released_at = now() WHERE id = %s", (entry_id,))
    return {"id": entry_id, "source": entry["source"], "key": entry["source_key"], "requeued_rows": requeued}


def count(conn: Any, run_id: str | None = None) -> int:
    rows = fetch_all(
        conn,
        "SELECT count(*) AS n FROM quarantine WHERE status = 'quarantined' "
        "AND (%(run)s::text IS NULL OR run_id = %(run)s)",
        {"run": run_id},
    )
    return int(rows[0]["n"])
