"""Kill the whole refresh anywhere: SIGKILL a night at seeded points inside ingest, validation,
extraction and load, run it again (the same run id, as an Airflow retry does), and compare with an
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
import time
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
import sys
from dataclasses import replace
from medkb.pipelines import kb_refresh
from medkb.settings import Settings

def marked(stage):
    def run(settings, run_id, params):
        print("stage", stage.name, flush=True)
        return stage.run(settings, run_id, params)
    return replace(stage, run=run)

kb_refresh.STAGES = tuple(marked(s) for s in kb_refresh.STAGES)
kb_refresh.run_night(Settings.from_env(), "K", kb_refresh.RefreshParams(
    medline_files=(sys.argv[1],), limit=6, fhir_drop_dir=sys.argv[2]))
print("night done", flush=True)
"""


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "MEDKB_EXTRACTOR": "dictionary", "MEDKB_RELATIONS": "cue_words"}


def _start(tmp_path: Path) -> subprocess.Popen:
    (tmp_path / "no-fhir").mkdir(exist_ok=True)
    return subprocess.Popen([sys.executable, "-c", _NIGHT, str(MEDLINE), str(tmp_path / "no-fhir")], cwd=ROOT,
                            env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def _night(tmp_path: Path) -> None:
    proc = _start(tmp_path)
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0 and "night done" in out, out


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
    pg.commit()
    _night(tmp_path)
    expected = (_counts(settings), canonical_dump(graph))
    with capsys.disabled():
        print(f"\nuninterrupted night: {expected[0]}", flush=True)
    assert expected[0]["state:loaded"] == 6 and expected[1]["labels"].get("Document") == 6

    rng = random.Random(SEED)
    outcomes = []
    for stage in KILL_STAGES:
        _empty(settings, graph)
        delay = round(rng.uniform(0.0, 2.0), 2)
        proc = _start(tmp_path)
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == f"stage {stage}":
                break
        time.sleep(delay)
        killed = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        interrupted = _counts(settings)
        _night(tmp_path)  # the retry
        got = (_counts(settings), canonical_dump(graph))
        outcomes.append((stage, delay, killed, interrupted.get("state:loaded", 0), got == expected))
        with capsys.disabled():
            print(f"\nkill point {stage} +{delay}s: {'killed' if killed else 'had finished'}, "
                  f"{interrupted.get('state:loaded', 0)} loaded at the kill, rerun equal: {got == expected}", flush=True)
        assert got[0] == expected[0], (stage, delay)
        assert got[1] == expected[1], (stage, delay)
    with capsys.disabled():
        print(f"\nkill points (seed {SEED}): " + "; ".join(
            f"{s} +{d}s {'killed' if k else 'had finished'}, {n} loaded at the kill, rerun {'equal' if ok else 'DIFFERS'}"
            for s, d, k, n, ok in outcomes))
