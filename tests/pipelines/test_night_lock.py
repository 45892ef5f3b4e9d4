"""Two nights started together (two processes): one proceeds, the other refuses and names the holder."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from medkb.pipelines import kb_refresh
from medkb.pipelines.night_lock import NightLocked, acquire

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

_NIGHT = """
import sys, time
from medkb.pipelines import kb_refresh
from medkb.pipelines.night_lock import NightLocked
from medkb.settings import Settings
run_id, start_at = sys.argv[1], float(sys.argv[2])
settings = Settings.from_env()
while time.time() < start_at:
    time.sleep(0.005)
try:
    kb_refresh.begin(settings, run_id, {})
except NightLocked as exc:
    print(exc, flush=True)
    sys.exit(3)
print("started", flush=True)
time.sleep(3)  # the night's work; the other process tries meanwhile
kb_refresh.finish(settings, run_id, {"load": {"documents": 0}})
"""


def test_two_nights_started_together_one_proceeds_the_other_names_the_holder(settings, pg, graph):
    start_at = time.time() + 4  # both processes are up by then and start in the same instant
    procs = {rid: subprocess.Popen([sys.executable, "-c", _NIGHT, rid, str(start_at)], cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env={**os.environ, "PYTHONPATH": str(ROOT)})
             for rid in ("night-a", "night-b")}
    out = {rid: p.communicate(timeout=120) for rid, p in procs.items()}
    codes = {rid: p.returncode for rid, p in procs.items()}
    assert sorted(codes.values()) == [0, 3], (codes, out)
    winner = next(r for r, c in codes.items() if c == 0)
    loser = next(r for r, c in codes.items() if c == 3)
    message = out[loser][0]
    assert f"run {loser!r} not started: run {winner!r} holds the nightly_refresh lock" in message
    assert f"medkb refresh --run-id {winner}" in message
    with pg.cursor() as cur:
        cur.execute("SELECT run_id, status FROM pipeline_runs ORDER BY run_id")
        assert cur.fetchall() == [(winner, "succeeded")]  # the refused night left nothing behind


def test_a_retry_takes_its_own_lock_over_and_an_abandoned_holder_is_passed(settings, pg, caplog):
    kb_refresh.begin(settings, "night-1", {})  # killed: never finished
    kb_refresh.begin(settings, "night-1", {})  # its retry proceeds
    with pytest.raises(NightLocked, match="run 'night-1' holds"):
        kb_refresh.begin(settings, "night-2", {})
    pg.rollback()
    with pg.cursor() as cur:
        acquire(cur.connection, kb_refresh.KIND, "night-2", stale_hours=0)  # older than the lease: abandoned
    pg.rollback()
    assert "taken as abandoned" in caplog.text
