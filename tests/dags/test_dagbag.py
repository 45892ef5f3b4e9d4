"""All five DAGs parse without errors, carry what an operator needs, and import nothing heavy.

Parses the real dags/ folder with Airflow's DagBag (no services needed). The parse time per file
is measured by bench/dag_parse.py (each file alone, the project's modules evicted first, as a fresh
DAG-processor child pays it) and printed (`pytest -s`); the test asserts the cause of slow parsing
(no heavy module imported at a DAG file's top level), not a timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

pytestmark = [pytest.mark.airflow]
ROOT = Path(__file__).resolve().parents[2]
DAG_IDS = {"medkb_kb_refresh", "medkb_records_refresh", "medkb_diagnose", "medkb_model_refine",
           "medkb_ontology_sync"}


def _bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


@pytest.fixture(scope="module")
def bag():
    mp = pytest.MonkeyPatch()
    for var in ("MEDKB_DAG_RETRIES", "MEDKB_DAG_RETRY_DELAY", "MEDKB_PROMOTION_APPROVAL"):
        mp.delenv(var, raising=False)  # the production retry policy, not the tests' override
    yield _bag()
    mp.undo()


def test_no_import_errors_and_all_five_dags(bag):
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == DAG_IDS


def test_every_dag_has_what_an_operator_needs(bag):
    from medkb_dagkit import on_dag_failure

    for dag in bag.dags.values():
        assert dag.tags and "medkb" in dag.tags, dag.dag_id
        assert "When it fails" in (dag.doc_md or ""), f"{dag.dag_id}: doc_md must say what to do on failure"
        assert dag.max_active_runs == 1 and dag.catchup is False, dag.dag_id
        assert dag.on_failure_callback is on_dag_failure or on_dag_failure in (dag.on_failure_callback or []), dag.dag_id
        assert dag.dagrun_timeout is not None or dag.dag_id == "medkb_kb_refresh", dag.dag_id


def test_every_task_has_owner_retries_backoff_timeout_callback_and_doc(bag):
    from medkb_dagkit import OWNER, on_task_failure, on_task_retry

    for dag in bag.dags.values():
        for t in dag.tasks:
            where = f"{dag.dag_id}.{t.task_id}"
            assert t.owner == OWNER, where
            assert t.retries >= 1 and t.retry_exponential_backoff >= 2, where
            assert isinstance(t.execution_timeout, timedelta), where
            assert on_task_failure in _callbacks(t.on_failure_callback), where
            assert on_task_retry in _callbacks(t.on_retry_callback), where
            assert (t.doc_md or "").strip(), f"{where} has no doc_md"


def _callbacks(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def test_schedules_cron_with_time_zone_and_assets(bag):
    from airflow.sdk import CronTriggerTimetable
    from medkb_assets import CASES, GRAPH, MODEL

    for dag_id in ("medkb_kb_refresh", "medkb_records_refresh", "medkb_model_refine", "medkb_ontology_sync"):
        tt = bag.dags[dag_id].timetable
        assert isinstance(tt, CronTriggerTimetable), dag_id
        assert tt.timezone and tt.expression, dag_id  # an explicit zone, not the server's default
    diagnose = bag.dags["medkb_diagnose"]
    wanted = {a.uri for a in (GRAPH, CASES)}
    condition = diagnose.timetable.asset_condition
    assert type(condition).__name__ == "AssetAny"  # either one updated wakes it
    assert {a.uri for a in condition.objects} == wanted
    outlets = {a.uri for d in bag.dags.values() for t in d.tasks for a in t.outlets}
    assert {GRAPH.uri, CASES.uri, MODEL.uri} <= outlets


def test_training_runs_on_the_gpu_queue_and_pool(bag):
    train = bag.dags["medkb_model_refine"].get_task("train_challenger")
    assert (train.queue, train.pool, train.pool_slots) == ("gpu", "gpu", 1)


def test_extraction_is_mapped_over_chunks(bag):
    dag = bag.dags["medkb_kb_refresh"]
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    assert isinstance(dag.get_task("extract_chunk"), MappedOperator)
    assert {"window_start", "window_end"} <= set(dag.params.keys())


def test_parse_time_per_file_and_no_heavy_import():
    """Each file parsed alone in a fresh process with medkb's modules evicted (bench/dag_parse.py)."""
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "dag_parse.py"), "--json"], check=True,
                         capture_output=True, text=True, timeout=600)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print("\nDAG parse time per file (fresh process, medkb modules evicted before each file):")
    for name, r in result.items():
        print(f"  {name:28s} {r['seconds'] * 1000:7.0f} ms")
    assert {d for r in result.values() for d in r["dags"]} == DAG_IDS
    for name, r in result.items():
        assert not r["errors"], f"{name}: {r['errors']}"
        assert not r["heavy"], f"{name} imports heavy modules at parse time: {r['heavy'][:8]}"
