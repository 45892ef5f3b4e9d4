"""A pipeline run's row: started, finished, or failed with the task and the reason (migration 0065)."""

from __future__ import annotations

import pytest

from medkb.pipelines import run_status

pytestmark = [pytest.mark.integration]


def test_a_failed_run_keeps_its_first_cause(pg, settings):
    run_status.start(settings, "dag:run-1", "nightly_refresh", {"limit": 5})
    assert run_status.mark_failed(settings, "dag:run-1", "nightly_refresh", "load_graph",
                                  "load_graph: GraphUnavailable: neo4j at 127.0.0.1:7687 is not answering")
    # a later task failing as a consequence does not overwrite the cause
    assert not run_status.mark_failed(settings, "dag:run-1", "nightly_refresh", "finish", "finish: KeyError")
    row = run_status.get(settings, "dag:run-1")
    assert (row["status"], row["failed_task"]) == ("failed", "load_graph")
    assert row["reason"].startswith("load_graph: GraphUnavailable") and row["finished_at"] is not None


def test_a_run_that_failed_before_begin_gets_a_row(pg, settings):
    assert run_status.mark_failed(settings, "dag:never-began", "diagnose", "begin", "begin: PostgresUnavailable:\n x")
    row = run_status.get(settings, "dag:never-began")
    assert (row["kind"], row["status"], row["reason"]) == ("diagnose", "failed", "begin: PostgresUnavailable: x")


def test_a_retried_begin_clears_the_failure(pg, settings):
    run_status.start(settings, "dag:run-2", "records_refresh")
    run_status.mark_failed(settings, "dag:run-2", "records_refresh", "ingest_fhir", "ingest_fhir: ValidationFailed")
    run_status.start(settings, "dag:run-2", "records_refresh")  # the run cleared and re-run from the top
    row = run_status.get(settings, "dag:run-2")
    assert (row["status"], row["failed_task"], row["reason"]) == ("running", None, None)
    run_status.finish(settings, "dag:run-2", {"cases_changed": 3})
    assert run_status.get(settings, "dag:run-2")["status"] == "succeeded"
