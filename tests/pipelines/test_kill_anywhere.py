"""Kill the whole refresh anywhere: SIGKILL a night at seeded points inside ingest, validation,
extraction and load (the seeded n-th Python call of the stage: MEDKB_KILL_STAGES picks the stages,
MEDKB_KILL_SEED the points), run it again (the same run id, as an Airflow retry does), and compare with an
uninterrupted night: the same Postgres counts and the same graph dump.

tests/kb/test_loader.py kills the loader alone; this kills the night around it. The night takes
6 citations of the MEDLINE fixture and the dictionary extractor (MEDKB_EXTRACTOR=dictionary), so
each night stays within a few minutes on a shared CPU.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from medkb.db.postgres import connect
from medkb.kb.dump import canonical_dump

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
MEDLINE = ROOT / "tests" / "fixtures" / "medline" / "pubmed20n0014_first50.xml.gz"
SEED = int(os.environ.get("MEDKB_KILL_SEED", "15"))
KILL_STAGES = tuple(os.environ.get("MEDKB_KILL_STAGES",
                                   "load_graph,extract_literature,validate_literature,ingest_literature").split(","))
TABLES = ("staged_documents", "extracted_mentions", "extracted_assertions", "quarantine", "source_watermarks")

_NIGHT = """
import os
import signal
import sys
import time
from dataclasses import replace
from medkb.pipelines import kb_refresh
from medkb.settings import Settings

KILL = os.environ.get("MEDKB_KILL_AT", "")  # "stage:n": SIGKILL this process at the stage's n-th call
COUNT = set(os.environ.get("MEDKB_COUNT_CALLS", "").split(","))  # stages whose calls are counted

def marked(stage):
    def run(settings, run_id, params):
        print("stage", stage.name, flush=True)
        calls = [0]
        target = int(KILL.split(":")[1]) if KILL.split(":")[0] == stage.name else 0

        def hook(frame, event, arg):  # Python function calls (and resumptions) of this thread
            if event == "call":
                calls[0] += 1
                if calls[0] == target:
                    print("kill", stage.name, calls[0], flush=True)
                    os.kill(os.getpid(), signal.SIGKILL)

        if target or stage.name in COUNT:
            sys.setprofile(hook)
        t0 = time.perf_counter()
        try:
            out = stage.run(settings, run_id, params)
        finally:
            sys.setprofile(None)
        print("stage-end", stage.name, round(time.perf_counter() - t0, 4), calls[0], flush=True)
        return out
    return replace(stage, run=run)

kb_refresh.STAGES = tuple(marked(s) for s in kb_refresh.STAGES)
kb_refresh.run_night(Settings.from_env(), "K", kb_refresh.RefreshParams(
    medline_files=(sys.argv[1],), limit=6, fhir_drop_dir=sys.argv[2]))
print("night done", flush=True)
"""


def _env(tmp_path: Path, extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "MEDKB_EXTRACTOR": "dictionary", "MEDKB_RELATIONS": "cue_words",
            "MEDKB_KILL_AT": "", "MEDKB_COUNT_CALLS": "", **extra}


def _night(tmp_path: Path, **extra: str) -> tuple[int, str]:
    """One night in its own process (a kill point, if any, in `extra`); its exit status and output."""
    (tmp_path / "no-fhir").mkdir(exist_ok=True)
    proc = subprocess.run([sys.executable, "-c", _NIGHT, str(MEDLINE), str(tmp_path / "no-fhir")], cwd=ROOT,
                          env=_env(tmp_path, extra), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                          timeout=1800)
    return proc.returncode, proc.stdout


def _stage_ends(out: str) -> dict[str, tuple[float, int]]:
    """stage -> (seconds, Python calls counted) from a night's output."""
    return {w[1]: (float(w[2]), int(w[3])) for w in (line.split() for line in out.splitlines())
            if w[:1] == ["stage-end"]}


def _whole_night(tmp_path: Path, **extra: str) -> dict[str, tuple[float, int]]:
    rc, out = _night(tmp_path, **extra)
    assert rc == 0 and "night done" in out, out
    return _stage_ends(out)


def _counts(settings) -> dict[str, int]:
    with connect(settings) as conn, conn.cursor() as cur:
        out = {}
        for t in TABLES:
            cur.execute(f'SELECT count(*) FROM "{t}"')  # noqa: S608 (fixed names above)
            out[t] = cur.fetchone()[0]
        cur.execute("SELECT state, count(*) FROM staged_documents GROUP BY state ORDER BY state")
        out.update({f"state:{s}": n for s, n in cur.fetchall()})
    return out


def _empty(settings, graph) -> None:
    with connect(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
                    " AND tablename NOT LIKE 'model%%'")
        tables = [r[0] for r in cur.fetchall()]
        cur.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
    graph.write_autocommit("MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 20000 ROWS")
    graph.write_autocommit("MATCH (n) CALL (n) { DELETE n } IN TRANSACTIONS OF 20000 ROWS")


def test_a_night_killed_anywhere_and_run_again_equals_an_uninterrupted_night(settings, pg, graph, tmp_path, capsys):
    """The kill point is the seeded n-th Python call inside the stage (counted in the uninterrupted
    night), so it lands inside the stage however fast the machine is: a fixed delay after the stage
    began landed after ingest (0.2 s here), in validation. The night SIGKILLs itself there."""
    pg.commit()
    took = _whole_night(tmp_path, MEDKB_COUNT_CALLS=",".join(KILL_STAGES))
    expected = (_counts(settings), canonical_dump(graph))
    with capsys.disabled():
        print(f"\nuninterrupted night: {expected[0]}; stage (seconds, calls) {took}", flush=True)
    assert expected[0]["state:loaded"] == 6 and expected[1]["labels"].get("Document") == 6

    rng = random.Random(SEED)
    outcomes = []
    for stage in KILL_STAGES:
        _empty(settings, graph)
        at = max(1, int(rng.uniform(0.05, 0.95) * took[stage][1]))
        rc, out = _night(tmp_path, MEDKB_KILL_AT=f"{stage}:{at}")
        in_stage = rc == -signal.SIGKILL and f"kill {stage} {at}" in out and f"stage-end {stage} " not in out
        interrupted = _counts(settings)
        _whole_night(tmp_path)  # the retry
        got = (_counts(settings), canonical_dump(graph))
        point = f"{stage} call {at}/{took[stage][1]}"
        outcomes.append((point, in_stage, interrupted, got == expected))
        with capsys.disabled():
            print(f"\nkill point {point}: {'killed inside it' if in_stage else f'NOT killed inside it (exit {rc})'}; "
                  f"at the kill {interrupted}; rerun equal: {got == expected}", flush=True)
        assert in_stage, f"the kill at {point} did not land inside the stage: {out[-500:]}"
        assert got[0] == expected[0], (point, got[0], expected[0])
        assert got[1] == expected[1], point
    with capsys.disabled():
        print(f"\nkill points (seed {SEED}): " + "; ".join(
            f"{p} {'killed inside' if k else 'NOT inside'}, {i.get('state:loaded', 0)} loaded and "
            f"{i.get('staged_documents', 0)} staged at the kill, rerun {'equal' if ok else 'DIFFERS'}"
            for p, k, i, ok in outcomes))
