"""Postgres lost during validation: the task fails with one clear line, and its retry completes with
no duplicate or half-written rows (the same states and quarantine as an uninterrupted validation).

Two ways: the first test terminates every backend of its own database (`pg_terminate_backend`)
while the validation runs, which is what a restart does to the connections of one database and
leaves other databases of a shared cluster alone. The second really restarts the server
(`ops/services.sh down postgres`, then `up postgres`) in the middle of the validation; it runs only
where nothing else uses the cluster: `MEDKB_TEST_PG_RESTART=1` (`.ci/run` sets it).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from medkb.db.postgres import connect
from medkb.pipelines import kb_refresh

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
MEDLINE = ROOT / "tests" / "fixtures" / "medline" / "pubmed20n0014_first50.xml.gz"

# The validation in a process of its own, held inside its transaction (at the suite run, connection open)
# until the test has cut Postgres: it writes <MEDKB_TEST_HOLD>.held, then waits for <MEDKB_TEST_HOLD>.
# Without the hold, a quiet machine validated the 50 rows (0.2 s) before the cut landed.
_VALIDATE = """
import os, time
import medkb.validation.batch as batch
from medkb.pipelines import kb_refresh
from medkb.settings import Settings

_run_suite = batch.run_suite
def held(*args, **kwargs):
    gate = os.environ["MEDKB_TEST_HOLD"]
    if not os.path.exists(gate):
        open(gate + ".held", "w").close()
        while not os.path.exists(gate):
            time.sleep(0.02)
    return _run_suite(*args, **kwargs)
batch.run_suite = held
print("validating", flush=True)
kb_refresh.validate_literature(Settings.from_env(), "V")
print("validated", flush=True)
"""


def _start_held_validation(run_id: str, gate: Path) -> subprocess.Popen:
    """The validation subprocess, once it is held inside its transaction."""
    proc = subprocess.Popen([sys.executable, "-c", _VALIDATE.replace('"V"', f'"{run_id}"')], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "MEDKB_TEST_HOLD": str(gate)})
    assert proc.stdout is not None and proc.stdout.readline().strip() == "validating"
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline and not Path(f"{gate}.held").exists():
        time.sleep(0.02)
    assert proc.poll() is None and Path(f"{gate}.held").exists(), proc.stderr.read() if proc.poll() is not None else "not held"
    return proc


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


def test_validation_survives_losing_postgres(settings, pg, tmp_path):
    pg.commit()
    kb_refresh.ingest_literature(settings, "V", [str(MEDLINE)])
    kb_refresh.validate_literature(settings, "V")
    expected = _state(settings)
    assert "validated" in expected[0]
    with connect(settings) as conn, conn.cursor() as cur:  # back to before the validation
        cur.execute("UPDATE staged_documents SET state = 'staged', validation_notes = '[]'::jsonb")
        cur.execute("DELETE FROM quarantine WHERE stage = 'validate'")

    gate = tmp_path / "go"
    proc = _start_held_validation("V", gate)
    keep = pg.get_backend_pid()  # the fixture's connection stays
    terminated = _terminate_own_backends(settings, keep)  # the held validation's connection
    gate.touch()
    out, err = proc.communicate(timeout=300)
    assert terminated >= 1
    assert proc.returncode != 0, out
    last = err.strip().splitlines()[-1]
    assert "PostgresUnavailable: run V: validate_literature lost its Postgres connection" in last
    assert "retry the task" in last
    assert _state(settings)[0] == {"staged": expected[0]["validated"] + expected[0].get("quarantined", 0)}

    kb_refresh.validate_literature(settings, "V")  # the retry
    assert _state(settings) == expected  # same states, each quarantine entry once


def _forget_airflow_connections() -> None:
    """Earlier DAG tests in this process left Airflow's ORM a session on a connection the restart
    closed; invalidate it (no rollback on a dead socket) so nothing trips over it later, atexit included."""
    airflow_settings = sys.modules.get("airflow.settings")
    if airflow_settings is None or getattr(airflow_settings, "Session", None) is None:
        return
    with contextlib.suppress(Exception):
        airflow_settings.Session().invalidate()
    with contextlib.suppress(Exception):
        airflow_settings.Session.remove()
    with contextlib.suppress(Exception):
        airflow_settings.engine.dispose()


def _busy(settings) -> int:
    """Client connections of this database other than the asking one: the validation's."""
    with connect(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_type = 'client backend'")
        return cur.fetchone()[0]


@pytest.mark.skipif(os.environ.get("MEDKB_TEST_PG_RESTART") != "1",
                    reason="restarts the whole Postgres cluster: set MEDKB_TEST_PG_RESTART=1 where nothing else uses it")
def test_validation_survives_a_postgres_restart(emptied, tmp_path):
    settings = emptied
    kb_refresh.ingest_literature(settings, "R", [str(MEDLINE)])
    kb_refresh.validate_literature(settings, "R")
    expected = _state(settings)
    with connect(settings) as conn, conn.cursor() as cur:  # back to before the validation
        cur.execute("UPDATE staged_documents SET state = 'staged', validation_notes = '[]'::jsonb")
        cur.execute("DELETE FROM quarantine WHERE stage = 'validate'")

    gate = tmp_path / "go"
    proc = _start_held_validation("R", gate)
    assert _busy(settings) >= 1  # the held validation's connection
    down = subprocess.run(["bash", "ops/services.sh", "down", "postgres"], cwd=ROOT, capture_output=True, text=True)
    gate.touch()
    assert down.returncode == 0, down.stderr
    restarted: dict[str, subprocess.CompletedProcess] = {}
    # the server comes back while the failed task is being reported, as an operator or systemd would
    starter = threading.Thread(target=lambda: restarted.setdefault("up", subprocess.run(
        ["bash", "ops/services.sh", "up", "postgres"], cwd=ROOT, capture_output=True, text=True)))
    try:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode != 0, out
        last = err.strip().splitlines()[-1]
        print(f"\nthe validation, Postgres restarted under it: {last}")
        assert "PostgresUnavailable" in last and ("retry the task" in last or "is Postgres running?" in last), last
    finally:
        starter.start()
        starter.join(timeout=180)
        _forget_airflow_connections()
    assert restarted["up"].returncode == 0, restarted["up"].stderr
    assert _state(settings)[0] == {"staged": expected[0]["validated"] + expected[0].get("quarantined", 0)}

    kb_refresh.validate_literature(settings, "R")  # the retry, once the server answers again
    assert _state(settings) == expected  # same states, each quarantine entry once
