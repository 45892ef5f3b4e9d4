"""ops/airflow.sh starts the four Airflow processes, the UI login works, and `down` leaves nothing
behind. One start and one stop (20-45 s on 2 cores, marked slow): each step is one test, in order.
The start-up faults (port taken, Postgres down) fail before any Airflow process starts."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ops.local_airflow import PROCS, LocalAirflow, free_port, group_alive, started

pytestmark = pytest.mark.integration

PASSWORD = "ops-test-admin"


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAirflow]:
    with started(LocalAirflow(tmp_path_factory.mktemp("airflow-home"), free_port(), PASSWORD)) as af:
        yield af


@pytest.mark.slow
def test_up_starts_four_processes_and_prints_the_login(airflow: LocalAirflow) -> None:
    pids = airflow.pids()
    assert set(pids) == set(PROCS)
    for name, pid in pids.items():
        assert os.getpgid(pid) == pid, f"{name} leads its own process group"
    assert f"UI ready on {airflow.url}" in airflow.up_output
    assert "user admin" in airflow.up_output
    status = airflow.run("status")
    assert status.returncode == 0 and status.stdout.count(": running (pid") == 4


@pytest.mark.slow
def test_second_up_says_already_running(airflow: LocalAirflow) -> None:
    before = airflow.pids()
    again = airflow.run("up")
    assert again.returncode == 0 and "already running" in again.stdout
    assert airflow.pids() == before


@pytest.mark.slow
def test_login_with_the_documented_admin_password_and_list_dags(airflow: LocalAirflow) -> None:
    code, _ = airflow.request("POST", "/auth/token", {"username": "admin", "password": "wrong"})
    assert code == 401
    code, body = airflow.request("POST", "/auth/token", {"username": "admin", "password": PASSWORD})
    assert code == 201 and body["access_token"]
    token = body["access_token"]
    assert airflow.request("GET", "/api/v2/dags")[0] == 401  # the API needs the token
    code, dags = airflow.request("GET", "/api/v2/dags", token=token)
    assert code == 200 and isinstance(dags["dags"], list)
    code, health = airflow.request("GET", "/api/v2/monitor/health", token=token)
    assert code == 200 and health["metadatabase"]["status"] == "healthy"


@pytest.mark.slow
def test_down_stops_every_process_and_its_children(airflow: LocalAirflow) -> None:
    pids = airflow.pids()
    stopped = airflow.run("down")
    assert stopped.returncode == 0 and "airflow: stopped" in stopped.stdout
    assert not any(group_alive(pgid) for pgid in pids.values())
    assert airflow.pids() == {}
    status = airflow.run("status")
    assert status.returncode == 1 and "airflow UI: not answering" in status.stdout
    assert "airflow: not running" in airflow.run("down").stdout



def test_ui_port_taken_fails_naming_airflow_and_the_port(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result = LocalAirflow(tmp_path, port, PASSWORD).run("up")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"ERROR [airflow]: port {port} is taken by another process; stop it or set AIRFLOW__API__PORT"
    )
    assert not (tmp_path / "run").exists() or not list((tmp_path / "run").iterdir())


def test_postgres_down_fails_before_starting_anything(tmp_path: Path) -> None:
    af = LocalAirflow(tmp_path, free_port(), PASSWORD)
    af.env["MEDKB_PG_PORT"] = str(free_port())
    result = af.run("up")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ERROR [airflow]: Postgres is not answering") and "make services" in last
    assert af.pids() == {}
