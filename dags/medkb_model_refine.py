"""### medkb_model_refine: the weekly refinement of the extraction model

**What it does.** Every Sunday at 04:00 it builds the refinement set (gold corpora plus the
champion's confident labels on recently ingested abstracts), trains a challenger on the GPU
worker (Celery queue `gpu`, pool `gpu` with one slot), and gates it against the champion by the
policy in `models/promotion.yaml`, logging and recording the reasons either way. With
`MEDKB_PROMOTION_APPROVAL=1` a passing challenger waits in `approve_promotion` for an operator
(Airflow UI, Required Actions: Approve or Reject; no answer within 3 days counts as Reject), then
`promote` runs the gate again for real. After a promotion the documents of the last
`reextract_days` days are re-extracted with the new champion, and the `medkb_model` Asset is
published with the version.

**When it fails.** The failed task's log ends with one `MEDKB task failed` line naming the cause and
what to do; the run is marked `failed` in `pipeline_runs`. Training failed: see the task log (out
of memory: lower `batch_size` in the config), then clear `train_challenger`: the refinement set is
kept. A rejected challenger is not a failure: the run succeeds and the reasons are in
`medkb model decisions`. Re-extraction resumes where it stopped when cleared.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task
from medkb_assets import MODEL
from medkb_dagkit import (
    TIMEZONE,
    approval_operator,
    approval_required,
    medkb_run_id,
    on_dag_failure,
    settings,
    task_defaults,
)

from medkb.settings import REPO_ROOT

KIND = "model_refine"


@dag(
    dag_id="medkb_model_refine",
    schedule=CronTriggerTimetable("0 4 * * 0", timezone=TIMEZONE),
    start_date=pendulum.datetime(2026, 11, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(days=4),
    tags=["medkb", "weekly", "model"],
    default_args=task_defaults(retries=1, retry_delay=timedelta(minutes=10), execution_timeout=timedelta(hours=2)),
    on_failure_callback=on_dag_failure,
    params={
        "config": Param(str(REPO_ROOT / "models" / "ner.yaml"), type="string", description="training config (YAML)"),
        "silver_limit": Param(4000, type="integer", description="abstracts the champion labels for silver data "
                              "(4,000 gave 2,965 sentences)"),
        "epochs": Param(None, type=["null", "integer"], description="override the config's epochs"),
        "reextract_days": Param(30, type="integer", minimum=0, description="after a promotion, re-extract the "
                                "documents staged in the last N days"),
    },
    doc_md=__doc__,
)
def medkb_model_refine():
    @task(doc_md="Records the run, then builds the refinement set (gold + the champion's silver labels).")
    def build_refinement_set() -> dict:
        ctx = get_current_context()
        from medkb.pipelines import model_refine, run_status

        p, run = ctx["params"], medkb_run_id(ctx)
        run_status.start(settings(), run, KIND, dict(p))
        out = model_refine.build_refinement_set(settings(), run, limit=p["silver_limit"], config=p["config"])
        return {**out, "run": run}

    @task(queue="gpu", pool="gpu", pool_slots=1, execution_timeout=timedelta(hours=6),
          doc_md="Fine-tunes a challenger on the GPU worker and registers it. Out of memory: lower batch_size.")
    def train_challenger(refinement: dict) -> dict:
        p = get_current_context()["params"]
        from medkb.pipelines import model_refine

        out = model_refine.train_challenger(settings(), refinement["run"], refinement["path"], config=p["config"],
                                            epochs=p["epochs"])
        return {**out, "run": refinement["run"]}

    @task(doc_md="Gates the challenger against the champion and logs why (recorded in the registry; with "
                 "approval on, a dry run whose decision the operator confirms).")
    def gate(challenger: dict) -> dict:
        from medkb.pipelines import model_promotion, model_refine

        if approval_required():
            out = model_promotion.evaluate(settings(), challenger["version"])
        else:
            out = model_refine.gate_challenger(settings(), challenger["version"])
        return {**out, "run": challenger["run"]}

    @task.short_circuit(ignore_downstream_trigger_rules=False, doc_md="Goes on only when the gate promoted (or would promote) the challenger; "
                               "otherwise the rest is skipped and the run succeeds.")
    def if_promoted(decision: dict) -> bool:
        return bool(decision["promoted"])

    @task(outlets=[MODEL], doc_md="Promotes for real when approval is on (the gate runs again), then "
                                  "publishes `medkb_model` with the champion's version.")
    def promote(decision: dict) -> dict:
        from medkb.pipelines import model_promotion

        out = model_promotion.promote(settings(), decision["version"]) if decision.get("dry_run") else decision
        if out["promoted"]:
            get_current_context()["outlet_events"][MODEL].extra = {"champion": out["version"], "run": decision["run"]}
        return {**out, "run": decision["run"]}

    @task(execution_timeout=timedelta(hours=8),
          doc_md="Re-extracts the recent documents with the new champion (medkb kb reextract); resumable.")
    def reextract_recent(promoted: dict) -> dict:
        from medkb.pipelines import model_promotion

        if not promoted["promoted"]:
            return {"skipped": "the gate refused the promotion"}
        return model_promotion.reextract_recent(settings(), promoted["version"],
                                                get_current_context()["params"]["reextract_days"])

    @task(trigger_rule="none_failed", doc_md="Closes the run in pipeline_runs (also when the gate refused).")
    def finish(decision: dict) -> dict:
        from medkb.pipelines import run_status

        run_status.finish(settings(), decision["run"], {"gate": decision})
        return decision

    decision = gate(train_challenger(build_refinement_set()))
    passed = if_promoted(decision)
    promoted = promote(decision)
    if approval_required():
        passed >> approval_operator("approve_promotion", "Promote the new NER challenger?",
                                    "The gate passed it; the reasons are in the `gate` task's log and "
                                    "`medkb model decisions`.", timeout=timedelta(days=3)) >> promoted
    else:
        passed >> promoted
    reextract_recent(promoted) >> finish(decision)


medkb_model_refine()
