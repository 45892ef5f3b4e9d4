"""One Airflow started by ops/airflow.sh in a temporary AIRFLOW_HOME on a free port, on the test
metadata database: the process tests, the MedKB page test and the Celery topology test drive it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "ops" / "airflow.sh"
PROCS = ("api-server", "scheduler", "dag-processor", "triggerer")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


class LocalAirflow:
    def __init__(self, home: Path, port: int, password: str, procs: tuple[str, ...] = PROCS,
                 env: dict[str, str] | None = None) -> None:
        self.home, self.password, self.procs = home, password, procs
        self.url = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "MEDKB_AIRFLOW_ADMIN_PASSWORD": password,
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",  # no scheduled runs while a test holds the database
            **(env or {}),
        }
        self.bearer = ""  # sent when a request names no token (set it from token())
        self.up_output = ""

    def run(self, action: str, timeout: float = 400) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(SCRIPT), action], capture_output=True, text=True, env=self.env, timeout=timeout)

    def pids(self) -> dict[str, int]:
        run = self.home / "run"
        return {p: int((run / f"{p}.pid").read_text()) for p in self.procs if (run / f"{p}.pid").exists()}

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None,
                cookie: str | None = None, timeout: float = 60) -> tuple[int, Any]:
        """(status, the JSON answer, or its text when it is not JSON: an HTML page, an error)."""
        token = self.bearer if token is None else token
        headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {}),
                   **({"Cookie": cookie} if cookie else {})}
        req = urllib.request.Request(self.url + path, method=method, headers=headers,
                                     data=None if body is None else json.dumps(body).encode())
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        text = raw.decode(errors="replace")
        try:
            return status, json.loads(text or "null")
        except json.JSONDecodeError:
            return status, text

    def token(self) -> str:
        code, body = self.request("POST", "/auth/token", {"username": "admin", "password": self.password}, token="")
        assert code == 201, body
        return body["access_token"]

    def stop(self) -> list[str]:
        """`down`, then SIGKILL any process group it left; returns the names `down` left alive."""
        pids = self.pids()
        self.run("down")
        leftover = [name for name, pgid in pids.items() if group_alive(pgid)]
        for pgid in pids.values():  # never leave a process behind, even when a test failed
            if group_alive(pgid):
                os.killpg(pgid, signal.SIGKILL)
        return leftover


@contextmanager
def started(af: LocalAirflow) -> Iterator[LocalAirflow]:
    """`up` (it must succeed), then always `stop`; `down` must leave no process group alive."""
    result = af.run("up")
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        af.up_output = result.stdout
        yield af
    finally:
        leftover = af.stop()
        assert not leftover, f"still running after `down`: {leftover}"
