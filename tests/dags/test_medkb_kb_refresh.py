"""The nightly DAG, run for real with dag.test() against the test services, twice."""

import os
import subprocess
from pathlib import Path

import pytest

from medkb.db.postgres import connect, fetch_all
from medkb.kb.client import GraphClient

pytestmark = [pytest.mark.integration, pytest.mark.airflow, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
SLICE = ROOT / "tests" / "fixtures" / "medline" / "pubmed20n0014_first50.xml.gz"


@pytest.fixture(scope="module")
def dagbag(settings):
    os.environ["MEDKB_DAG_RETRIES"] = "0"  # a failing task fails the test at once
    subprocess.run(["airflow", "db", "migrate"], check=True, capture_output=True)
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_dags_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "medkb_kb_refresh" in dagbag.dag_ids


def test_refresh_twice_gives_the_same_stores(dagbag, pg, graph, settings):
    dag = dagbag.get_dag("medkb_kb_refresh")

    def run_and_count() -> tuple:
        dr = dag.test(run_conf={"medline_files": [str(SLICE)], "limit": None})
        assert "success" in str(dr.state), f"DAG run ended {dr.state}"
        with connect(settings) as conn:
            staged = fetch_all(conn, "SELECT state, count(*) AS n FROM staged_documents GROUP BY state ORDER BY state")
            docs = fetch_all(conn, "SELECT source_key, content_hash FROM staged_documents ORDER BY source_key")
        with GraphClient(settings.neo4j) as g:
            nodes = g.read("MATCH (n) WHERE NOT n:Run UNWIND labels(n) AS l RETURN l, count(*) AS n ORDER BY l")
            rels = g.read("MATCH ()-[r]->() RETURN type(r) AS t, count(*) AS n ORDER BY t")
            pmids = g.read("MATCH (d:Document) RETURN d.pmid AS pmid ORDER BY pmid")
        return dr.run_id, staged, docs, nodes, rels, pmids

    run1, *first = run_and_count()
    run2, *second = run_and_count()
    assert run1 != run2
    assert first == second
    staged, docs, nodes, rels, pmids = first
    assert staged == [{"state": "loaded", "n": 50}]
    assert {"l": "Document", "n": 50} in nodes
    assert [p["pmid"] for p in pmids] == sorted(d["source_key"] for d in docs)
    with connect(settings) as conn:
        runs = fetch_all(conn, "SELECT run_id, status FROM pipeline_runs ORDER BY started_at")
    assert [(r["run_id"], r["status"]) for r in runs] == [(run1, "succeeded"), (run2, "succeeded")]
