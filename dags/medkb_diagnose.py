"""### medkb_diagnose: the rule engine re-runs over the cases a change can affect

**What it does.** Runs whenever the graph (`medkb_graph`: a literature night or an ontology sync)
or the cases (`medkb_cases`: a records night) are updated. It re-evaluates only the affected cases
(`medkb.rules.incremental.rerun_changed`): cases whose record changed since their last evaluation,
cases that touch graph facts the new runs changed, or every case when the rule set's version
changed. Unchanged cases keep their results; the diff (new, changed, withdrawn suggestions) is
recorded in Postgres. Publishes `medkb_diagnoses` with the counts.

**When it fails.** The failed task's log ends with one `MEDKB task failed` line naming the cause and
what to do; the run is marked `failed` in `pipeline_runs`. Nothing is lost: the next update of
either Asset re-runs the same selection (cases not yet evaluated stay "changed"), and the task is
safe to clear. `medkb diagnose --changed` runs the same selection from a shell.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, get_current_context, task
from medkb_assets import CASES, DIAGNOSES, GRAPH
from medkb_dagkit import TIMEZONE, medkb_run_id, on_dag_failure, settings, task_defaults


@dag(
    dag_id="medkb_diagnose",
    schedule=(GRAPH | CASES),
    start_date=pendulum.datetime(2026, 11, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=3),
    tags=["medkb", "rules", "asset-driven"],
    default_args=task_defaults(execution_timeout=timedelta(hours=2)),
    on_failure_callback=on_dag_failure,
    doc_md=__doc__,
)
def medkb_diagnose():
    @task(doc_md="Records the run and which Asset events woke it (their counts, no identifiers).")
    def begin() -> str:
        ctx = get_current_context()
        from medkb.pipelines import diagnose

        events = ctx.get("triggering_asset_events") or {}
        woken_by = {str(getattr(a, "name", a)): [dict(e.extra or {}) for e in evs] for a, evs in events.items()}
        return diagnose.begin(settings(), medkb_run_id(ctx), {"triggered_by": woken_by})

    @task(outlets=[DIAGNOSES], doc_md="Re-evaluates the affected cases only. On failure: see the summary "
                                      "line; the selection is recomputed on retry, so clearing is safe.")
    def rerun_changed(run: str) -> dict:
        from medkb.pipelines import diagnose

        summary = diagnose.rerun_changed(settings(), run)
        get_current_context()["outlet_events"][DIAGNOSES].extra = {
            "run": run, **{k: v for k, v in summary.items() if isinstance(v, (int, float, str))}}
        return summary

    @task(doc_md="Closes the run in pipeline_runs with the engine's counts.")
    def finish(run: str, summary: dict) -> dict:
        from medkb.pipelines import diagnose

        return diagnose.finish(settings(), run, summary)

    run = begin()
    finish(run, rerun_changed(run))


medkb_diagnose()
