"""ops/airflow.sh starts the four Airflow processes, the UI login works, and `down` leaves nothing
behind. One start and one stop (20-45 s on 2 cores, marked slow): each step is one test, in order.
The start-up faults (port taken, Postgres down) fail before any Airflow process starts."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "ops" / "airflow.sh"
PROCS = ("api-server", "scheduler", "dag-processor", "triggerer")
PASSWORD = "ops-test-admin"


class Airflow:
    """One local Airflow in a temporary AIRFLOW_HOME on a free port (the test metadata database)."""

    def __init__(self, home: Path, port: int) -> None:
        self.home, self.port = home, port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "MEDKB_AIRFLOW_ADMIN_PASSWORD": PASSWORD,
            # no scheduled runs while the test holds the metadata database
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        }

    def run(self, action: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", str(SCRIPT), action], capture_output=True, text=True, env=self.env, timeout=240
        )

    def pids(self) -> dict[str, int]:
        run = self.home / "run"
        return {p: int((run / f"{p}.pid").read_text()) for p in PROCS if (run / f"{p}.pid").exists()}

    def request(self, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, Any]:
        req = urllib.request.Request(
            self.url + path,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
        )
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Airflow]:
    af = Airflow(tmp_path_factory.mktemp("airflow-home"), _free_port())
    started = af.run("up")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        af.up_output = started.stdout  # type: ignore[attr-defined]
        yield af
    finally:
        af.run("down")
        for pgid in af.pids().values():  # never leave a process behind, even when a test failed
            if _group_alive(pgid):
                os.killpg(pgid, signal.SIGKILL)


@pytest.mark.slow
def test_up_starts_four_processes_and_prints_the_login(airflow: Airflow) -> None:
    pids = airflow.pids()
    assert set(pids) == set(PROCS)
    for name, pid in pids.items():
        assert os.getpgid(pid) == pid, f"{name} leads its own process group"
    assert f"UI ready on {airflow.url}" in airflow.up_output  # type: ignore[attr-defined]
    assert "user admin" in airflow.up_output  # type: ignore[attr-defined]
    status = airflow.run("status")
    assert status.returncode == 0 and status.stdout.count(": running (pid") == 4


@pytest.mark.slow
def test_second_up_says_already_running(airflow: Airflow) -> None:
    before = airflow.pids()
    again = airflow.run("up")
    assert again.returncode == 0 and "already running" in again.stdout
    assert airflow.pids() == before


@pytest.mark.slow
def test_login_with_the_documented_admin_password_and_list_dags(airflow: Airflow) -> None:
    code, _ = airflow.request("/auth/token", {"username": "admin", "password": "wrong"})
    assert code == 401
    code, body = airflow.request("/auth/token", {"username": "admin", "password": PASSWORD})
    assert code == 201 and body["access_token"]
    token = body["access_token"]
    assert airflow.request("/api/v2/dags")[0] == 401  # the API needs the token
    code, dags = airflow.request("/api/v2/dags", token=token)
    assert code == 200 and isinstance(dags["dags"], list)
    code, health = airflow.request("/api/v2/monitor/health", token=token)
    assert code == 200 and health["metadatabase"]["status"] == "healthy"


@pytest.mark.slow
def test_down_stops_every_process_and_its_children(airflow: Airflow) -> None:
    pids = airflow.pids()
    stopped = airflow.run("down")
    assert stopped.returncode == 0 and "airflow: stopped" in stopped.stdout
    assert not any(_group_alive(pgid) for pgid in pids.values())
    assert airflow.pids() == {}
    status = airflow.run("status")
    assert status.returncode == 1 and "airflow UI: not answering" in status.stdout
    assert "airflow: not running" in airflow.run("down").stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ui_port_taken_fails_naming_airflow_and_the_port(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result = Airflow(tmp_path, port).run("up")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"ERROR [airflow]: port {port} is taken by another process; stop it or set AIRFLOW__API__PORT"
    )
    assert not (tmp_path / "run").exists() or not list((tmp_path / "run").iterdir())


def test_postgres_down_fails_before_starting_anything(tmp_path: Path) -> None:
    af = Airflow(tmp_path, _free_port())
    af.env["MEDKB_PG_PORT"] = str(_free_port())
    result = af.run("up")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ERROR [airflow]: Postgres is not answering") and "make services" in last
    assert af.pids() == {}
