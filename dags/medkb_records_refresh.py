"""### medkb_records_refresh: patient records from the drop folders become cases

**What it does.** Every night at 01:30 (before the literature refresh) it stages the FHIR R4
bundles in `<data_dir>/fhir/inbox` and the GA4GH phenopackets in `<data_dir>/phenopackets/inbox`,
pseudonymised and validated, as cases in Postgres (`staged_cases`), finds HPO phenotypes in the
clinical notes (`case_phenotypes`, evidence `note ...`), then publishes the
`medkb_cases` Asset, which wakes `medkb_diagnose`. Files already ingested with the same content are
skipped, so re-running a night changes nothing. Patient data never leaves Postgres.

**When it fails.** The failed task's log ends with one `MEDKB task failed` line naming the cause and
what to do; the run is marked `failed` in `pipeline_runs` with its reason. A file that cannot be
read is quarantined (`medkb quarantine list`) and the others go on; a batch failing validation
beyond `MEDKB_MAX_FAILURE_RATE` fails `ingest_fhir`: fix or remove the file, then clear the task.
Every task is safe to clear and re-run.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task
from medkb_assets import CASES
from medkb_dagkit import TIMEZONE, medkb_run_id, on_dag_failure, settings, task_defaults


@dag(
    dag_id="medkb_records_refresh",
    schedule=CronTriggerTimetable("30 1 * * *", timezone=TIMEZONE),
    start_date=pendulum.datetime(2026, 11, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=4),
    tags=["medkb", "nightly", "records"],
    default_args=task_defaults(execution_timeout=timedelta(hours=2)),
    on_failure_callback=on_dag_failure,
    params={
        "fhir_drop_dir": Param(None, type=["null", "string"], description="FHIR bundles; default <data_dir>/fhir/inbox"),
        "phenopacket_drop_dir": Param(None, type=["null", "string"],
                                      description="phenopackets; default <data_dir>/phenopackets/inbox"),
    },
    doc_md=__doc__,
)
def medkb_records_refresh():
    @task(doc_md="Records the run as `running` in pipeline_runs. Fails only if Postgres is unreachable.")
    def begin() -> str:
        ctx = get_current_context()
        from medkb.pipelines import records_refresh

        return records_refresh.begin(settings(), medkb_run_id(ctx), dict(ctx["params"]))

    @task(doc_md="Stages and validates the FHIR bundles in the drop folder. On a validation failure: "
                 "`medkb quarantine list`, fix or remove the file, clear the task.")
    def ingest_fhir(run: str) -> dict:
        from medkb.pipelines import records_refresh

        return records_refresh.ingest_fhir(settings(), run, get_current_context()["params"]["fhir_drop_dir"])

    @task(doc_md="Stages and validates the phenopackets in the drop folder (JSON or gzipped JSON lines). "
                 "A malformed packet is quarantined with its reason; the rest go on.")
    def ingest_phenopackets(run: str) -> dict:
        from medkb.pipelines import records_refresh

        return records_refresh.ingest_phenopackets(
            settings(), run, get_current_context()["params"]["phenopacket_drop_dir"])

    @task(doc_md="Finds HPO phenotypes in the staged clinical notes with the serving extractor (observed, "
                 "or excluded under a negation) for the cases whose notes or model changed. Safe to re-run; "
                 "if it fails on the model, `medkb model list` and the extraction logs say why.")
    def extract_notes(run: str) -> dict:
        from medkb.pipelines import records_refresh

        return records_refresh.extract_notes(settings(), run)

    @task(outlets=[CASES], doc_md="Closes the run and publishes `medkb_cases` with the run's counts "
                                  "(no identifiers), which triggers medkb_diagnose.")
    def finish(run: str, fhir: dict, phenopackets: dict, notes: dict) -> dict:
        from medkb.pipelines import records_refresh

        summary = records_refresh.finish(settings(), run, {"fhir": fhir, "phenopackets": phenopackets,
                                                           "notes": notes})
        get_current_context()["outlet_events"][CASES].extra = {"run": run, **summary}
        return summary

    run = begin()
    fhir, packets = ingest_fhir(run), ingest_phenopackets(run)
    fhir >> packets  # one validator at a time over staged_cases
    notes = extract_notes(run)
    fhir >> notes
    finish(run, fhir, packets, notes)


medkb_records_refresh()
