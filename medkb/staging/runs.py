"""Pipeline runs and per-source watermarks in Postgres."""

from __future__ import annotations

import json
from typing import Any

from medkb.db.postgres import execute, fetch_all


def start_run(conn: Any, run_id: str, kind: str, params: dict[str, Any] | None = None) -> None:
    """Record a run as running; starting the same run again (a retry) resets it to running."""
    execute(
        conn,
        """INSERT INTO pipeline_runs (run_id, kind, params) VALUES (%s, %s, %s)
           ON CONFLICT (run_id) DO UPDATE SET status = 'running', finished_at = NULL,
                                              params = EXCLUDED.params""",
        (run_id, kind, json.dumps(params or {}, sort_keys=True, default=str)),
    )


def finish_run(conn: Any, run_id: str, status: str, counts: dict[str, Any]) -> None:
    n = execute(
        conn,
        "UPDATE pipeline_runs SET status = %s, finished_at = now(), counts = %s WHERE run_id = %s",
        (status, json.dumps(counts, sort_keys=True, default=str), run_id),
    )
    if n != 1:
        raise KeyError(f"run {run_id!r} was never started; call start_run first")


def get_run(conn: Any, run_id: str) -> dict[str, Any] | None:
    rows = fetch_all(conn, "SELECT * FROM pipeline_runs WHERE run_id = %s", (run_id,))
    return rows[0] if rows else None


def get_watermark(conn: Any, source: str) -> str | None:
    rows = fetch_all(conn, "SELECT position FROM source_watermarks WHERE source = %s", (source,))
    return rows[0]["position"] if rows else None


def set_watermark(conn: Any, source: str, position: str, run_id: str) -> None:
    """Advance a watermark. Call it in the transaction that commits the staged batch."""
    execute(
        conn,
        """INSERT INTO source_watermarks (source, position, run_id) VALUES (%s, %s, %s)
           ON CONFLICT (source) DO UPDATE SET position = EXCLUDED.position, run_id = EXCLUDED.run_id,
                                              updated_at = now()""",
        (source, position, run_id),
    )
