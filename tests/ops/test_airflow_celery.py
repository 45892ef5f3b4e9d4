"""The CeleryExecutor topology for real: Redis, ops/airflow.sh in celery mode (api-server, scheduler,
dag-processor, triggerer and two `airflow celery worker` processes on queues `default` and `gpu`),
the refinement DAG triggered through the REST API on a tiny training config, and the task
instances saying which worker ran what: training on gpu@HOST, everything else on default@HOST.
`dag.test()` never touches queues; only the real scheduler and workers can show the routing.
Everything started here is stopped by its PID. About 4-6 minutes on 2 shared cores."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from medkb.db.postgres import fetch_all
from tests.ops.local_airflow import LocalAirflow, free_port, started

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "training" / "tiny_ner.yaml"
SLICE = ROOT / "tests" / "fixtures" / "medline" / "pubmed20n0014_first50.xml.gz"
DAG = "medkb_model_refine"
PASSWORD = "celery-test-admin"
PROCS = ("api-server", "scheduler", "dag-processor", "triggerer", "worker", "worker-gpu")


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[int]:
    """A throw-away Redis on a free port in its own process group, stopped by its PID."""
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True).stdout.strip() == "PONG":
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"redis-server did not answer on port {port}")
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


class CeleryAirflow(LocalAirflow):
    def __init__(self, home: Path, port: int, broker_port: int, registry: Path) -> None:
        super().__init__(home, port, PASSWORD, PROCS, {
            "MEDKB_AIRFLOW_EXECUTOR": "celery",
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{broker_port}/0",
            "MEDKB_DAG_RETRIES": "0",
            "MEDKB_MODEL_REGISTRY": str(registry),
        })

    def wait_for(self, what: str, check: Any, timeout: float, every: float = 3.0) -> Any:
        """Poll `check` until it returns something true; a slow answer (a busy api-server on 2 shared
        cores) is one more poll, not a failure."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                got = check()
            except (TimeoutError, urllib.error.URLError):
                got = None
            if got:
                return got
            time.sleep(every)
        tails = []
        for log in sorted((self.home / "logs").rglob("*.log")):  # the temporary home is gone afterwards
            if log.parent.name == "processes" and not log.stem.startswith("worker"):
                continue
            tails.append(f"---- {log.relative_to(self.home)}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-8:]))
        pytest.fail(f"{what} not within {timeout:.0f} s\n" + "\n".join(tails))


@pytest.fixture
def airflow(tmp_path: Path, redis: int) -> Iterator[CeleryAirflow]:
    af = CeleryAirflow(tmp_path / "airflow-home", free_port(), redis, tmp_path / "registry")
    af.home.mkdir()
    with started(af):
        yield af


def test_training_runs_on_the_gpu_worker_and_the_rest_on_default(airflow: CeleryAirflow, pg: Any, settings: Any) -> None:
    from medkb.pipelines import kb_refresh

    t0 = time.monotonic()
    host = socket.gethostname().split(".")[0]
    assert set(airflow.pids()) == set(PROCS)
    assert "CeleryExecutor" in airflow.up_output
    for worker, queue in (("worker", "default"), ("worker-gpu", "gpu")):
        log = (airflow.home / "logs" / "processes" / f"{worker}.log").read_text()
        assert f"{queue}@{host} ready." in log and f".> {queue} " in log, f"{worker} does not serve {queue}"

    kb_refresh.ingest_literature(settings, "celery-night", [str(SLICE)])  # abstracts for the silver set
    kb_refresh.validate_literature(settings, "celery-night")

    airflow.bearer = airflow.token()
    airflow.wait_for(f"{DAG} parsed", lambda: airflow.request("GET", f"/api/v2/dags/{DAG}")[0] == 200, 240)
    # a run an earlier, interrupted test left in the shared metadata database would block this one
    # (max_active_runs=1): fail it first
    for stale in airflow.request("GET", f"/api/v2/dags/{DAG}/dagRuns?state=running&state=queued")[1]["dag_runs"]:
        airflow.request("PATCH", f"/api/v2/dags/{DAG}/dagRuns/{stale['dag_run_id']}", {"state": "failed"})
    code, pool = airflow.request("GET", "/api/v2/pools/gpu")
    assert code == 200 and pool["slots"] >= 1, pool  # ops/airflow.sh made the pool the training task uses
    assert airflow.request("PATCH", f"/api/v2/dags/{DAG}", {"is_paused": False})[0] == 200
    run_id = f"celery_test__{int(time.time())}"
    code, body = airflow.request("POST", f"/api/v2/dags/{DAG}/dagRuns", {
        "dag_run_id": run_id, "logical_date": None,
        "conf": {"config": str(TINY), "silver_limit": 20, "epochs": None},
    })
    assert code == 200, body
    try:
        def finished() -> str | None:
            state = airflow.request("GET", f"/api/v2/dags/{DAG}/dagRuns/{run_id}")[1]["state"]
            return state if state in ("success", "failed") else None

        # 3-4 min on a quiet 2-core machine; the bound is for one shared by eight people (load ~25)
        state = airflow.wait_for(f"run {run_id} finished", finished, 1500, every=5)
        code, tis = airflow.request("GET", f"/api/v2/dags/{DAG}/dagRuns/{run_id}/taskInstances")
        assert code == 200, tis
    finally:
        airflow.request("PATCH", f"/api/v2/dags/{DAG}", {"is_paused": True})
    ran = {t["task_id"]: (t["state"], t["queue"], t["hostname"]) for t in tis["task_instances"]}
    print(f"\ncelery run {run_id}: {state} in {time.monotonic() - t0:.0f} s; task instances {ran}")
    assert state == "success", ran
    training = {tid for tid in ran if "train" in tid}
    assert training, f"no training task in {sorted(ran)}"
    assert all(ran[t][0] == "success" for t in training), ran
    for tid, (ti_state, queue, hostname) in ran.items():
        expected = "gpu" if tid in training else "default"
        assert queue == expected, (tid, queue)
        if ti_state == "skipped":  # a branch not taken (no promotion): it ran nowhere
            continue
        assert ti_state == "success", (tid, ti_state)
        assert hostname == f"{expected}@{host}", f"{tid} ran on {hostname}, not on the {expected} worker"
    # the training really happened: the challenger it registered, with its files in the registry
    (model,) = fetch_all(pg, "SELECT version, status FROM model_registry")
    assert (Path(airflow.env["MEDKB_MODEL_REGISTRY"]) / model["version"] / "model.safetensors").exists()
