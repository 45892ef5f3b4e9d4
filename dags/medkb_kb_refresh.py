"""Nightly refresh of the knowledge graph: literature in, validated, extracted, loaded.

Thin on purpose: schedule, wiring and retries live here; every stage task runs the stage of its
own name from `medkb.pipelines.kb_refresh.STAGES` (what `medkb refresh` runs too). Hand-offs go
through Postgres and Neo4j, so any task can be retried alone. A run needs a literature source:
`medline_files`, `medline_drop_dir` or `pubmed: true`; only `make demo` passes sample files.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Connection, Param, dag, get_current_context, task

from medkb.pipelines import kb_refresh
from medkb.settings import Settings

GRAPH = Asset("medkb://neo4j/knowledge-graph")


def _settings() -> Settings:
    return Settings.from_uris(
        Connection.get("medkb_postgres").get_uri(), Connection.get("medkb_neo4j").get_uri()
    )


def _run_id() -> str:
    return get_current_context()["run_id"]


def _stage(name: str, medkb_run: str) -> dict:
    ctx = get_current_context()
    params = kb_refresh.RefreshParams.from_params(ctx["params"], until=ctx["ds"])
    return kb_refresh.run_stage(name, _settings(), medkb_run, params)


@dag(
    dag_id="medkb_kb_refresh",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["medkb", "nightly"],
    # MEDKB_DAG_RETRIES=0 for dag.test() in the demo and tests: fail at once instead of waiting.
    default_args={"retries": int(os.environ.get("MEDKB_DAG_RETRIES", "2")), "retry_delay": timedelta(minutes=5), "retry_exponential_backoff": True},
    params={
        "medline_files": Param(None, type=["null", "array"], description="MEDLINE files; needed unless pubmed is on "
                               "(the demo passes the bundled sample)"),
        "medline_drop_dir": Param(None, type=["null", "string"], description="a folder of MEDLINE files (*.xml, "
                                  "*.xml.gz), taken beside medline_files; files already ingested are skipped"),
        "limit": Param(None, type=["null", "integer"], description="at most N citations per file"),
        "pubmed": Param(False, type="boolean", description="also fetch new PubMed citations up to the logical date "
                        "(E-utilities; needs network and MEDKB_NCBI_EMAIL/MEDKB_NCBI_API_KEY)"),
        "pubmed_term": Param("", type="string", description="restrict the PubMed search (empty: everything)"),
        "fhir_drop_dir": Param(None, type=["null", "string"], description="FHIR bundles; default <data_dir>/fhir/inbox"),
    },
    doc_md=__doc__,
)
def medkb_kb_refresh():
    @task
    def begin() -> str:
        ctx = get_current_context()
        return kb_refresh.begin(_settings(), _run_id(), dict(ctx["params"]))

    @task
    def ingest_literature(medkb_run: str) -> dict:
        return _stage("ingest_literature", medkb_run)

    @task
    def ingest_pubmed(medkb_run: str) -> dict:
        return _stage("ingest_pubmed", medkb_run)

    @task
    def ingest_records(medkb_run: str) -> dict:
        """FHIR bundles from the drop folder, pseudonymised, validated; they stay in Postgres."""
        return _stage("ingest_records", medkb_run)

    @task
    def validate_literature(medkb_run: str) -> dict:
        return _stage("validate_literature", medkb_run)

    @task(execution_timeout=timedelta(hours=4))
    def extract_literature(medkb_run: str) -> dict:
        return _stage("extract_literature", medkb_run)

    @task(outlets=[GRAPH])
    def load_graph(medkb_run: str) -> dict:
        return _stage("load_graph", medkb_run)

    @task
    def finish(medkb_run: str, ingest: dict, validate: dict, extract: dict, load: dict, records: dict,
               pubmed: dict) -> dict:
        results = {"ingest_literature": ingest, "ingest_pubmed": pubmed, "validate_literature": validate,
                   "extract_literature": extract, "load_graph": load, "ingest_records": records}
        return kb_refresh.finish(_settings(), medkb_run, kb_refresh.counts_by_key(results))

    run = begin()
    ingested = ingest_literature(run)
    validated = validate_literature(run)
    extracted = extract_literature(run)
    loaded = load_graph(run)
    pubmed = ingest_pubmed(run)
    [ingested, pubmed] >> validated >> extracted >> loaded
    records = ingest_records(run)
    finish(run, ingested, validated, extracted, loaded, records, pubmed)


medkb_kb_refresh()
