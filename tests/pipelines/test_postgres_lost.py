"""Postgres lost during validation: the task fails with one clear line, and its retry completes with
no duplicate or half-written rows (the same states and quarantine as an uninterrupted validation).

The Postgres cluster is shared by every test database on this machine, so the test does not restart
it: it terminates every backend of its own database (`pg_terminate_backend`) while the validation
runs, which is what a restart does to the connections of one database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from medkb.db.postgres import connect
from medkb.pipelines import kb_refresh

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
MEDLINE = ROOT / "tests" / "fixtures" / "medline" / "pubmed20n0014_first50.xml.gz"

_VALIDATE = """
from medkb.pipelines import kb_refresh
from medkb.settings import Settings
print("validating", flush=True)
kb_refresh.validate_literature(Settings.from_env(), "V")
print("validated", flush=True)
"""


def _state(settings) -> tuple[dict[str, int], list[tuple]]:
    with connect(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT state, count(*) FROM staged_documents GROUP BY state ORDER BY state")
        states = dict(cur.fetchall())
        cur.execute("SELECT source, source_key, version, stage, count(*) FROM quarantine "
                    "GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4")
        return states, cur.fetchall()


def _terminate_own_backends(settings, keep: int) -> int:
    """Every backend of this test's database but the test's own connections."""
    with connect(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> %s", (keep,))
        return cur.fetchone()[0]


def test_validation_survives_losing_postgres(settings, pg):
    pg.commit()
    kb_refresh.ingest_literature(settings, "V", [str(MEDLINE)])
    kb_refresh.validate_literature(settings, "V")
    expected = _state(settings)
    assert "validated" in expected[0]
    with connect(settings) as conn, conn.cursor() as cur:  # back to before the validation
        cur.execute("UPDATE staged_documents SET state = 'staged', validation_notes = '[]'::jsonb")
        cur.execute("DELETE FROM quarantine WHERE stage = 'validate'")

    proc = subprocess.Popen([sys.executable, "-c", _VALIDATE], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None and proc.stdout.readline().strip() == "validating"
    terminated = 0
    keep = pg.get_backend_pid()  # the fixture's connection stays
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:  # wait until it has a connection, then cut it
        with connect(settings) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid() AND pid <> %s AND backend_type = 'client backend'",
                        (keep,))
            busy = cur.fetchone()[0]
        if busy:  # cut at once: on a quiet machine the validation holds a connection only briefly
            terminated = _terminate_own_backends(settings, keep)
            if terminated:  # else its connection closed in between: wait for the next one
                break
        time.sleep(0.05)
    out, err = proc.communicate(timeout=300)
    assert terminated >= 1
    assert proc.returncode != 0, out
    last = err.strip().splitlines()[-1]
    assert "PostgresUnavailable: run V: validate_literature lost its Postgres connection" in last
    assert "retry the task" in last
    assert _state(settings)[0] == {"staged": expected[0]["validated"] + expected[0].get("quarantined", 0)}

    kb_refresh.validate_literature(settings, "V")  # the retry
    assert _state(settings) == expected  # same states, each quarantine entry once
