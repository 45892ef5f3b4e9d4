"""### medkb_kb_refresh: the nightly literature refresh of the knowledge graph

**What it does.** Every night at 02:00 (after `medkb_records_refresh`), per configured literature
source (MEDLINE files in the drop folder given by the param `medline_drop_dir`, or named in
`medline_files`; PubMed E-utilities when `pubmed` is on) it stages the new citations
in Postgres, validates them (Great Expectations; failures to the quarantine), extracts chemicals,
diseases, phenotypes and INDUCES relations (mapped over chunks of a few hundred documents, one
task instance each), loads them into Neo4j with their evidence, and publishes the `medkb_graph`
Asset with the night's counts, which wakes `medkb_diagnose`. Files already ingested are skipped;
only documents new or changed since the last night are extracted and loaded, so re-running a
night changes nothing. Params `window_start` / `window_end` (YYYY-MM-DD) override PubMed's date
window for a backfill.

**When it fails.** The failed task's log ends with one `MEDKB task failed` line naming the cause and
what to do, and the run is marked `failed` in `pipeline_runs` with its reason. Every stage hands
over through Postgres state columns and Neo4j, so clearing the failed task (or the whole run)
resumes where it stopped: finished extraction batches and loaded documents are not redone. No
source configured: the first task says how to configure one. Too many invalid records: see
`medkb quarantine list`. Neo4j or Postgres down: retried with backoff; bring the store back and
clear the task if the retries ran out.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task
from medkb_assets import GRAPH
from medkb_dagkit import TIMEZONE, medkb_run_id, on_dag_failure, settings, task_defaults


def _stage(name: str, run: str) -> dict:
    """Run the pipeline's stage of this name (medkb.pipelines.kb_refresh.STAGES) for this run."""
    from medkb.pipelines import kb_refresh

    ctx = get_current_context()
    params = kb_refresh.RefreshParams.from_params(ctx["params"], until=ctx["params"].get("window_end") or ctx["ds"])
    return kb_refresh.run_stage(name, settings(), run, params)


@dag(
    dag_id="medkb_kb_refresh",
    schedule=CronTriggerTimetable("0 2 * * *", timezone=TIMEZONE),
    start_date=pendulum.datetime(2026, 11, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=10),
    tags=["medkb", "nightly", "literature"],
    default_args=task_defaults(execution_timeout=timedelta(hours=2)),
    on_failure_callback=on_dag_failure,
    params={
        "medline_drop_dir": Param(None, type=["null", "string"], description="a folder of MEDLINE update files "
                                  "(*.xml, *.xml.gz); files already ingested are skipped"),
        "medline_files": Param(None, type=["null", "array"], description="MEDLINE files to stage (besides the folder)"),
        "limit": Param(None, type=["null", "integer"], description="at most N citations per file"),
        "pubmed": Param(False, type="boolean", description="also fetch new PubMed citations (E-utilities; needs "
                        "network and MEDKB_NCBI_EMAIL/MEDKB_NCBI_API_KEY)"),
        "pubmed_term": Param("", type="string", description="restrict the PubMed search (empty: everything)"),
        "window_start": Param(None, type=["null", "string"], format="date",
                              description="backfill: PubMed window's first day (default: after the last window)"),
        "window_end": Param(None, type=["null", "string"], format="date",
                            description="backfill: PubMed window's last day (default: the run's logical date)"),
        "chunk_size": Param(300, type="integer", minimum=1, description="documents per extraction task"),
    },
    doc_md=__doc__,
)
def medkb_kb_refresh():
    @task(doc_md="Records the run as `running` in pipeline_runs. Fails only if Postgres is unreachable.")
    def begin() -> str:
        ctx = get_current_context()
        from medkb.pipelines import kb_refresh

        return kb_refresh.begin(settings(), medkb_run_id(ctx), dict(ctx["params"]))

    @task(doc_md="Stages the MEDLINE files (drop folder and/or named files); files already ingested are "
                 "skipped. No source configured: the error says how to configure one.")
    def ingest_literature(run: str) -> dict:
        return _stage("ingest_literature", run)

    @task(doc_md="Stages new PubMed citations for the date window (skipped unless `pubmed` is on). "
                 "Resumes a window a failed run left half-done.")
    def ingest_pubmed(run: str) -> dict:
        p = get_current_context()["params"]
        if p["pubmed"] and p["window_start"]:  # a backfill: the window is given, not resumed
            from medkb.pipelines import kb_refresh

            return kb_refresh.ingest_pubmed(settings(), run, until=p["window_end"] or get_current_context()["ds"],
                                            first_day=p["window_start"], term=p["pubmed_term"])
        return _stage("ingest_pubmed", run)

    @task(doc_md="Validates the staged citations; failures go to the quarantine. Fails when more than "
                 "MEDKB_MAX_FAILURE_RATE of the batch fails: `medkb quarantine list`.")
    def validate_literature(run: str) -> dict:
        return _stage("validate_literature", run)

    @task(doc_md="Splits the validated documents into chunks of `chunk_size` keys (at most 1000 chunks).")
    def plan_extraction(run: str) -> list:
        from medkb.pipelines import kb_extraction

        return kb_extraction.plan_extraction(settings(), run, get_current_context()["params"]["chunk_size"])

    @task(doc_md="Extracts one chunk with the registry's champion (else the dictionary extractor). "
                 "A retry skips the documents already extracted.",
          execution_timeout=timedelta(hours=1), max_active_tis_per_dagrun=2)
    def extract_chunk(run: str, keys: list) -> dict:
        from medkb.pipelines import kb_extraction

        return kb_extraction.extract_chunk(settings(), run, keys)

    @task(outlets=[GRAPH], trigger_rule="none_failed", doc_md="Loads the extracted documents into Neo4j (idempotent MERGE) and publishes "
                                  "`medkb_graph` with the night's counts, which wakes medkb_diagnose.")
    def load_graph(run: str, chunks: list) -> dict:
        from medkb.pipelines import kb_extraction

        counts = _stage("load_graph", run)
        extract = kb_extraction.sum_counts(chunks)
        get_current_context()["outlet_events"][GRAPH].extra = {
            "run": run, "documents_extracted": extract.get("extracted", 0), "assertions": extract.get("assertions", 0),
            "documents_loaded": counts.get("documents", 0), "model": extract.get("model", "")}
        return {"extract": extract, "load": counts}

    @task(trigger_rule="none_failed", doc_md="Closes the run in pipeline_runs and writes the graph's Run node with the counts.")
    def finish(run: str, ingest: dict, pubmed: dict, validate: dict, loaded: dict) -> dict:
        from medkb.pipelines import kb_refresh

        return kb_refresh.finish(settings(), run, {"ingest": ingest, "pubmed": pubmed, "validate": validate,
                                                   **loaded})

    run = begin()
    ingested, pubmed = ingest_literature(run), ingest_pubmed(run)
    validated = validate_literature(run)
    [ingested, pubmed] >> validated
    chunks = plan_extraction(run)
    validated >> chunks
    extracted = extract_chunk.partial(run=run).expand(keys=chunks)
    finish(run, ingested, pubmed, validated, load_graph(run, extracted))


medkb_kb_refresh()
