"""Nightly refresh of the knowledge graph: literature in, validated, extracted, loaded.

Thin on purpose: schedule, wiring and retries live here; every task calls one `medkb.nightly`
function. Hand-offs go through Postgres and Neo4j, so any task can be retried alone.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Connection, Param, dag, get_current_context, task

from medkb import nightly
from medkb.settings import Settings

GRAPH = Asset("medkb://neo4j/knowledge-graph")


def _settings() -> Settings:
    return Settings.from_uris(
        Connection.get("medkb_postgres").get_uri(), Connection.get("medkb_neo4j").get_uri()
    )


def _run_id() -> str:
    return get_current_context()["run_id"]


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
        "medline_files": Param(None, type=["null", "array"], description="MEDLINE files; default: the sample baseline"),
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
        return nightly.begin(_settings(), _run_id(), dict(ctx["params"]))

    @task
    def ingest_literature(medkb_run: str) -> dict:
        params = get_current_context()["params"]
        return nightly.ingest_literature(_settings(), medkb_run, params["medline_files"], params["limit"])

    @task
    def ingest_pubmed(medkb_run: str) -> dict:
        ctx = get_current_context()
        if not ctx["params"]["pubmed"]:
            return {"skipped": True}
        return nightly.ingest_pubmed(_settings(), medkb_run, until=ctx["ds"], term=ctx["params"]["pubmed_term"])

    @task
    def ingest_records(medkb_run: str) -> dict:
        """FHIR bundles from the drop folder, pseudonymised, validated; they stay in Postgres."""
        return nightly.ingest_records(_settings(), medkb_run, get_current_context()["params"]["fhir_drop_dir"])

    @task
    def validate_literature(medkb_run: str) -> dict:
        return nightly.validate_literature(_settings(), medkb_run)

    @task(execution_timeout=timedelta(hours=4))
    def extract_literature(medkb_run: str) -> dict:
        return nightly.extract_literature(_settings(), medkb_run)

    @task(outlets=[GRAPH])
    def load_graph(medkb_run: str) -> dict:
        return nightly.load_graph(_settings(), medkb_run)

    @task
    def finish(medkb_run: str, ingest: dict, validate: dict, extract: dict, load: dict, records: dict,
               pubmed: dict) -> dict:
        counts = {"ingest": ingest, "pubmed": pubmed, "validate": validate, "extract": extract, "load": load,
                  "records": records}
        return nightly.finish(_settings(), medkb_run, counts)

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
