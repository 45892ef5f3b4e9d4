"""The refinement DAG with MEDKB_PROMOTION_APPROVAL=1, run for real with dag.test(), the approval answered.

Airflow 3.3's ApprovalOperator parks `approve_promotion` in AWAITING_INPUT (no trigger) and
dag.test() waits for a response recorded from outside. A thread here plays the operator: it waits
for the pending Human-in-the-loop detail in the metadata DB and answers it through the function
behind the API's `PATCH .../taskInstances/approve_promotion/-1/hitlDetails` (what the UI's Required
Actions page calls), which records the response and resumes the task.
"""

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from medkb import registry
from medkb.db.postgres import connect, fetch_all
from medkb.registry import POLICY_FILE
from medkb.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.airflow, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
DAG_ID, TASK_ID = "medkb_model_refine", "approve_promotion"
ANSWER_WITHIN_S = 900  # the responder gives up (and fails the waiting task) after this


class Operator:
    """The user the API would hand the route (GetUserDep)."""

    def get_id(self) -> str:
        return "test-operator"

    def get_name(self) -> str:
        return "Test Operator"


class Responder(threading.Thread):
    """Answers the next pending approval of `approve_promotion` with `answer`."""

    def __init__(self, answer: str):
        super().__init__(daemon=True)
        self.answer, self.stop, self.answered, self.error = answer, threading.Event(), None, None
        self.champion = None

    def run(self) -> None:
        from airflow.models.hitl import HITLDetail
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from airflow.utils.state import TaskInstanceState
        from sqlalchemy import select

        deadline = time.monotonic() + ANSWER_WITHIN_S
        try:
            while not self.stop.is_set():
                with create_session() as session:  # the pending request the UI would list
                    run_id = session.scalar(
                        select(TaskInstance.run_id).join(HITLDetail, HITLDetail.ti_id == TaskInstance.id).where(
                            TaskInstance.dag_id == DAG_ID, TaskInstance.task_id == TASK_ID,
                            TaskInstance.state == TaskInstanceState.AWAITING_INPUT, HITLDetail.responded_at.is_(None)))
                    if run_id is not None:
                        with connect(Settings.from_env()) as conn:  # while the run waits, after the dry run
                            champion = registry.champion(conn)
                        self.champion = champion.version if champion else None
                        self._respond(session, run_id)
                        return
                if time.monotonic() > deadline:
                    self._give_up()
                    return
                self.stop.wait(1)
        except BaseException as err:  # recorded for the test; the run must not wait forever
            self.error = err
            self._give_up()

    def _respond(self, session, run_id: str) -> None:
        from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
        from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail

        out = update_hitl_detail(dag_id=DAG_ID, dag_run_id=run_id, task_id=TASK_ID, map_index=-1,
                                 update_hitl_detail_payload=UpdateHITLDetailPayload(chosen_options=[self.answer]),
                                 user=Operator(), session=session)
        session.commit()
        self.answered = {"run_id": run_id, "chosen_options": out.chosen_options, "by": dict(out.responded_by),
                         "champion_meanwhile": self.champion}

    def _give_up(self) -> None:
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from airflow.utils.state import TaskInstanceState
        from sqlalchemy import update

        with create_session() as session:
            session.execute(update(TaskInstance).where(
                TaskInstance.dag_id == DAG_ID, TaskInstance.task_id == TASK_ID,
                TaskInstance.state == TaskInstanceState.AWAITING_INPUT).values(state=TaskInstanceState.FAILED))


@pytest.fixture
def dag(settings, monkeypatch, tmp_path):
    monkeypatch.setenv("MEDKB_DAG_RETRIES", "0")
    monkeypatch.setenv("MEDKB_MODEL_REGISTRY", str(tmp_path / "registry"))
    # the champion serves, as in production (ops/env.sh pins the dictionary extractor for tests, and
    # with it reextract_recent refuses the new champion: "not the serving model"); the empty registry
    # imports the shipped release as its first champion
    monkeypatch.delenv("MEDKB_EXTRACTOR", raising=False)
    monkeypatch.setenv("MEDKB_PROMOTION_APPROVAL", "1")  # read when the DAG file is parsed, below
    policy = tmp_path / "promotion.yaml"  # any NER challenger passes: the test is about the approval
    sections = yaml.safe_load(POLICY_FILE.read_text())  # the other kinds' (the shipped `re` import) as shipped
    policy.write_text(yaml.safe_dump({**sections, "ner": {"margin": -100, "tolerance": 100, "min_f1": 0}}))
    monkeypatch.setenv("MEDKB_PROMOTION_POLICY", str(policy))
    subprocess.run(["airflow", "db", "migrate"], check=True, capture_output=True)
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    dag = bag.get_dag(DAG_ID)
    assert TASK_ID in dag.task_dict
    return dag


def _run(dag, conf: dict, answer: str) -> tuple[object, dict, dict]:
    responder = Responder(answer)
    responder.start()
    try:
        dr = dag.test(run_conf=conf)
    finally:
        responder.stop.set()
        responder.join(30)
    assert responder.error is None, f"the responder failed: {responder.error!r}"
    assert responder.answered is not None, f"no approval was pending (run ended {dr.state})"
    assert responder.answered["run_id"] == dr.run_id
    assert "success" in str(dr.state), f"DAG run ended {dr.state}"
    from airflow.utils.session import create_session

    with create_session() as session:
        states = {ti.task_id: str(ti.state) for ti in dr.get_task_instances(session=session)}
    return dr, states, responder.answered


def _pipeline_run(settings, dr) -> dict:
    with connect(settings) as conn:
        (row,) = fetch_all(conn, "SELECT status, counts FROM pipeline_runs WHERE run_id = %s",
                           (f"{DAG_ID}:{dr.run_id}",))
    counts = row["counts"]
    return {"status": row["status"], "counts": counts if isinstance(counts, dict) else json.loads(counts)}


def test_promotion_waits_for_approval(dag, tiny_refinement, graph, settings):
    config = tiny_refinement
    conf = {"config": str(config), "silver_limit": 20, "epochs": None, "reextract_days": 0}

    # 1. Approve: the gate's dry run recorded nothing; promote runs the gate for real
    dr, states, answered = _run(dag, conf, "Approve")
    first = _pipeline_run(settings, dr)
    assert first["status"] == "succeeded"
    first_version = first["counts"]["gate"]["version"]
    assert first["counts"]["gate"]["dry_run"] is True and first["counts"]["gate"]["promoted"] is True
    assert answered["chosen_options"] == ["Approve"] and answered["by"]["name"] == "Test Operator"
    shipped = answered["champion_meanwhile"]  # imported by build_refinement_set; not replaced by the dry run
    assert shipped is not None and shipped != first_version
    for task_id in ("gate", "if_promoted", "approve_promotion", "promote", "reextract_recent", "finish"):
        assert states[task_id].endswith("success"), states
    with connect(settings) as conn:
        assert registry.champion(conn).version == first_version
        assert registry.get(conn, shipped).status == "retired"
        decisions = registry.decisions(conn, first_version)
    assert [(d["action"], d["against"]) for d in decisions] == [("promote", shipped)]  # the dry run left none

    # 2. Reject: the next challenger passes the gate too, but the champion stays
    dr, states, answered = _run(dag, conf, "Reject")
    second = _pipeline_run(settings, dr)
    assert second["status"] == "succeeded"  # finish closed the run
    second_version = second["counts"]["gate"]["version"]
    assert second["counts"]["gate"]["dry_run"] is True and second["counts"]["gate"]["promoted"] is True
    assert answered["chosen_options"] == ["Reject"] and answered["champion_meanwhile"] == first_version
    for task_id in ("gate", "if_promoted", "approve_promotion", "finish"):
        assert states[task_id].endswith("success"), states
    assert states["promote"].endswith("skipped") and states["reextract_recent"].endswith("skipped"), states
    with connect(settings) as conn:
        assert registry.champion(conn).version == first_version
        assert registry.get(conn, second_version).status == "challenger"
        assert registry.decisions(conn, second_version) == []  # only the dry run saw it
