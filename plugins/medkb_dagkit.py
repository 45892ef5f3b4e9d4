"""What every MedKB DAG shares: owner, retries with exponential backoff, timeouts, failure callbacks.

DAG files stay thin: `default_args=task_defaults(...)` gives every task the same retry policy and
callbacks; `medkb_run_id(context)` names the run in `pipeline_runs` and on the graph's Run node;
`settings()` builds the library's Settings from the Airflow connections through the plugin's hook.

A task that fails for good marks its pipeline run `failed` with a one-line reason and logs one
actionable summary line: DAG, task, run, exception class and what to do. The line never carries an
exception message (a message may name a record); the full traceback stays in the task log.

Imports here are cheap on purpose (the DAG processor parses every DAG file often): nothing from
`medkb` beyond settings is imported at module level.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

log = logging.getLogger("medkb.airflow")

OWNER = "medkb-ops"
TIMEZONE = os.environ.get("MEDKB_TIMEZONE", "UTC")

# pipeline_runs.kind per DAG (the failure callback needs it when a run fails before `begin`)
KINDS = {
    "medkb_kb_refresh": "nightly_refresh",
    "medkb_records_refresh": "records_refresh",
    "medkb_diagnose": "diagnose",
    "medkb_model_refine": "model_refine",
    "medkb_ontology_sync": "ontology_sync",
}

# exception class name -> what the operator should do (matched by name: no heavy imports here)
HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("GraphUnavailable", "ServiceUnavailable", "SessionExpired", "Neo4jError", "TransientError"),
     "Neo4j is unreachable or refused the work: check it (`bash ops/services.sh status`, or the "
     "server's logs), then clear the failed task; the stages are idempotent"),
    (("PostgresUnavailable", "OperationalError", "InterfaceError"),
     "Postgres is unreachable: check it (`make services-status`) and the connection medkb_postgres, "
     "then clear the failed task"),
    (("ValidationFailed",),
     "too many records failed validation: inspect `medkb quarantine list`, fix or remove the source "
     "file, then clear the task"),
    (("IngestFailed", "SourceFileError", "SampleDataError", "EutilsError", "HistoryExpired"),
     "a source could not be read: see the quarantine entry naming the file, fix the drop folder or "
     "the NCBI settings, then clear the task"),
    (("SettingsError", "ConfigError", "PseudonymKeyMissing", "KeyError"),
     "a setting or connection is missing: see the task log for which, set it, then clear the task"),
    (("AirflowTaskTimeout", "TimeoutError"),
     "the task ran past its execution_timeout: look for a slow store or a too large backlog; clear "
     "the task to resume (finished batches are kept)"),
    (("RegistryError", "ModelDirError"),
     "the model registry refused: see `medkb model list`, fix the model directory, then clear the task"),
)
DEFAULT_HINT = "see the task log; every stage hands over through the stores, so clearing the task is safe"


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def task_defaults(
    *, retries: int = 3, retry_delay: timedelta = timedelta(minutes=5),
    execution_timeout: timedelta = timedelta(hours=1), max_retry_delay: timedelta = timedelta(hours=1),
) -> dict[str, Any]:
    """default_args for a MedKB DAG. MEDKB_DAG_RETRIES / MEDKB_DAG_RETRY_DELAY (seconds) override the
    retry policy for tests and the demo; the backoff doubles the delay each try, up to max_retry_delay."""
    delay = os.environ.get("MEDKB_DAG_RETRY_DELAY")
    return {
        "owner": OWNER,
        "retries": _env_int("MEDKB_DAG_RETRIES", retries),
        "retry_delay": timedelta(seconds=float(delay)) if delay else retry_delay,
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(seconds=float(delay) * 8) if delay else max_retry_delay,
        "execution_timeout": execution_timeout,
        "on_failure_callback": on_task_failure,
        "on_retry_callback": on_task_retry,
    }


def medkb_run_id(context: Any) -> str:
    """The pipeline run's id: DAG id and Airflow run id (Airflow's run ids are unique per DAG only)."""
    return f"{context['dag'].dag_id}:{context['run_id']}"


def settings() -> Any:
    """medkb Settings from the connections medkb_postgres and medkb_neo4j (see MedKBHook)."""
    from medkb_plugin import MedKBHook

    return MedKBHook().settings()


def hint_for(exc: BaseException | None) -> str:
    names = {c.__name__ for c in type(exc).__mro__} if exc is not None else set()
    for classes, hint in HINTS:
        if names & set(classes):
            return hint
    return DEFAULT_HINT


def summary_line(context: Any, what: str) -> str:
    """One line an operator can act on; no exception message, so no record content."""
    ti = context.get("ti") or context.get("task_instance")
    exc = context.get("exception")
    task = getattr(ti, "task_id", "?")
    if getattr(ti, "map_index", -1) not in (-1, None):
        task = f"{task}[{ti.map_index}]"
    kind = type(exc).__name__ if exc is not None else "no exception recorded"
    return (f"MEDKB {what}: {context['dag'].dag_id}/{task} run={context['run_id']} "
            f"try={getattr(ti, 'try_number', '?')} error={kind} -> {hint_for(exc)}")


def on_task_failure(context: Any) -> None:
    """Failed for good: mark the pipeline run failed with its reason, log the summary line."""
    line = summary_line(context, "task failed for good")
    exc = context.get("exception")
    ti = context.get("ti") or context.get("task_instance")
    reason = f"{getattr(ti, 'task_id', '?')}: {type(exc).__name__ if exc else 'failed'}: {exc or ''}"
    try:
        from medkb.pipelines.run_status import mark_failed

        mark_failed(settings(), medkb_run_id(context), KINDS.get(context["dag"].dag_id, "airflow"),
                    getattr(ti, "task_id", "?"), reason)
    except Exception as err:  # the store itself may be the thing that is down
        line += f" (could not mark the run failed in pipeline_runs: {type(err).__name__})"
    log.error(line)


def on_task_retry(context: Any) -> None:
    log.warning(summary_line(context, "task failed, will retry"))


def on_dag_failure(context: Any) -> None:
    """The run failed (a task failed for good, or the run timed out): make sure its row says so."""
    reason = str(context.get("reason") or "the DAG run failed")
    try:
        from medkb.pipelines.run_status import mark_failed

        changed = mark_failed(settings(), medkb_run_id(context), KINDS.get(context["dag"].dag_id, "airflow"),
                              "(dag run)", reason)
    except Exception as err:
        log.error("MEDKB dag run failed: %s run=%s; could not mark it in pipeline_runs (%s)",
                  context["dag"].dag_id, context["run_id"], type(err).__name__)
        return
    if changed:  # no task callback got there first (e.g. a run timeout)
        log.error("MEDKB dag run failed: %s run=%s reason=%s -> %s", context["dag"].dag_id,
                  context["run_id"], reason[:200], DEFAULT_HINT)


def approval_required() -> bool:
    """MEDKB_PROMOTION_APPROVAL=1: a promotion waits for an operator's approval in the UI."""
    return os.environ.get("MEDKB_PROMOTION_APPROVAL", "0").lower() in ("1", "true", "yes")


def approval_operator(task_id: str, subject: str, body: str, timeout: timedelta) -> Any:
    """The standard provider's ApprovalOperator (Airflow >= 3.1): Approve runs the promotion,
    Reject (or no answer before `timeout`) skips it. Imported only when the setting is on."""
    from airflow.providers.standard.operators.hitl import ApprovalOperator

    return ApprovalOperator(
        task_id=task_id, subject=subject, body=body, defaults=["Reject"], response_timeout=timeout,
        execution_timeout=timedelta(minutes=5),
        retries=0, doc_md="Approve to promote the challenger (the gate already passed it); Reject keeps "
                          "the champion. Unanswered after the timeout counts as Reject.",
    )
