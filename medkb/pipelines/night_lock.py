"""One night at a time: a second KB refresh started while one is running refuses, naming the holder.

The lock is the holder's own `pipeline_runs` row (status `running`), so it spans the night's Airflow
tasks, which run in separate processes; the check-and-start is serialised by a transaction-level
advisory lock, so two nights that start at the same instant cannot both pass. A retry of the same
run id takes its own lock over (a killed night is simply run again). A holder that started longer
ago than MEDKB_NIGHT_LOCK_HOURS (default 20) is treated as abandoned: the next night proceeds and
logs that it did.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from medkb.db.postgres import execute, fetch_all

log = logging.getLogger(__name__)


class NightLocked(RuntimeError):
    """Another run of the same kind is running; the message names it and what to do."""


def acquire(conn: Any, kind: str, run_id: str, stale_hours: float | None = None) -> None:
    """Call in the transaction that records `run_id` as running (before start_run)."""
    hours = stale_hours if stale_hours is not None else float(os.environ.get("MEDKB_NIGHT_LOCK_HOURS", "20"))
    execute(conn, "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"medkb:{kind}",))
    holders = fetch_all(
        conn,
        "SELECT run_id, started_at, now() - started_at > make_interval(secs => %s) AS stale FROM pipeline_runs "
        "WHERE kind = %s AND status = 'running' AND run_id <> %s ORDER BY started_at",
        (hours * 3600, kind, run_id),
    )
    live = [h for h in holders if not h["stale"]]
    for h in holders:
        if h["stale"]:
            log.warning("%s %s: run %s has been 'running' since %s (over %g h): taken as abandoned",
                        kind, run_id, h["run_id"], h["started_at"], hours)
    if live:
        h = live[0]
        raise NightLocked(
            f"run {run_id!r} not started: run {h['run_id']!r} holds the {kind} lock (running since "
            f"{h['started_at']:%Y-%m-%d %H:%M:%S %Z}); wait for it to finish, or if its process is gone, "
            f"retry it (`medkb refresh --run-id {h['run_id']} ...` takes its own lock over) or mark it failed in Airflow"
        )
