"""A pipeline run's row in `pipeline_runs`: started, finished, or failed with its reason.

Every pipeline begins with `start` and ends with `finish`; when a task fails for good, the
orchestrator's failure callback calls `mark_failed`, so no failed night stays `running` forever.
"""

from __future__ import annotations

from typing import Any

from medkb.db.postgres import connect, execute, fetch_all
from medkb.settings import Settings
from medkb.staging.runs import finish_run, start_run

REASON_MAX = 500


def start(settings: Settings, run_id: str, kind: str, params: dict[str, Any] | None = None) -> str:
    """Record the run as running (a retried begin resets it); returns the run id for the next stage."""
    with connect(settings) as conn:
        start_run(conn, run_id, kind, params)
        execute(conn, "UPDATE pipeline_runs SET failed_task = NULL, reason = NULL WHERE run_id = %s", (run_id,))
    return run_id


def finish(settings: Settings, run_id: str, counts: dict[str, Any], status: str = "succeeded") -> None:
    with connect(settings) as conn:
        finish_run(conn, run_id, status, counts)


def mark_failed(settings: Settings, run_id: str, kind: str, task: str, reason: str) -> bool:
    """Set the run `failed` with the task and a one-line reason; True when this call changed it.

    A run that failed before its first stage recorded it gets a row too. A run already marked
    failed keeps its first reason (the first task to fail is the cause; later ones are consequences).
    """
    line = " ".join(reason.split())[:REASON_MAX]
    with connect(settings) as conn:
        rows = fetch_all(
            conn,
            """INSERT INTO pipeline_runs (run_id, kind, status, finished_at, failed_task, reason)
               VALUES (%s, %s, 'failed', now(), %s, %s)
               ON CONFLICT (run_id) DO UPDATE
                  SET status = 'failed', finished_at = now(),
                      failed_task = COALESCE(pipeline_runs.failed_task, EXCLUDED.failed_task),
                      reason = COALESCE(pipeline_runs.reason, EXCLUDED.reason)
                  WHERE pipeline_runs.status <> 'failed'
               RETURNING run_id""",
            (run_id, kind, task, line),
        )
    return bool(rows)


def get(settings: Settings, run_id: str) -> dict[str, Any] | None:
    with connect(settings) as conn:
        rows = fetch_all(conn, "SELECT * FROM pipeline_runs WHERE run_id = %s", (run_id,))
    return rows[0] if rows else None
