"""Service faults give one clear message naming the service and what to do, and the services
script is idempotent. Runs against the real test services that `make test` starts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from medkb.db.postgres import PostgresUnavailable, connect
from medkb.kb.client import GraphClient, GraphUnavailable
from medkb.settings import Settings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "ops" / "services.sh"


@pytest.fixture
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port some other process is listening on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def _pg_with(settings: Settings, *, password: str | None = None, port: int | None = None) -> Settings:
    head, tail = settings.pg_uri.split("://", 1)
    creds, rest = tail.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    hostport, db = rest.split("/", 1)
    host = hostport.rsplit(":", 1)[0]
    pw = password if password is not None else creds.split(":", 1)[1]
    return replace(settings, pg_uri=f"{head}://{user}:{pw}@{host}:{port or hostport.rsplit(':', 1)[1]}/{db}")


def _services(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SERVICES), *args],
        capture_output=True, text=True, timeout=300, env={**os.environ, **env},
    )


def _one_clear_line(exc: BaseException) -> str:
    """The operator sees one line, and no chained driver traceback behind it."""
    msg = str(exc)
    assert "\n" not in msg, msg
    assert exc.__cause__ is None and exc.__suppress_context__, "raise … from None hides driver internals"
    return msg


# ------------------------------------------------------------------ wrong passwords, missing services
def test_wrong_neo4j_password_names_neo4j_and_the_setting(settings: Settings) -> None:
    with pytest.raises(GraphUnavailable) as err:
        with GraphClient(replace(settings.neo4j, password="not-the-password")) as client:
            client.read("RETURN 1 AS one")
    msg = _one_clear_line(err.value)
    assert msg.startswith("neo4j at bolt://127.0.0.1:")
    assert "authentication failed" in msg and "MEDKB_NEO4J_PASSWORD" in msg
    assert "not-the-password" not in msg
    # the right password still works right after (one failure does not lock the account)
    with GraphClient(settings.neo4j) as client:
        assert client.read("RETURN $x AS x", {"x": 7}) == [{"x": 7}]


def test_neo4j_not_running_says_how_to_start_it(settings: Settings, free_port: int) -> None:
    target = replace(settings.neo4j, uri=f"bolt://127.0.0.1:{free_port}")
    with pytest.raises(GraphUnavailable) as err:
        GraphClient(target).read("RETURN 1")
    msg = _one_clear_line(err.value)
    assert f"neo4j at bolt://127.0.0.1:{free_port} is not answering" in msg
    assert "make services" in msg


def test_wrong_postgres_password_names_postgres_and_the_setting(settings: Settings) -> None:
    with pytest.raises(PostgresUnavailable) as err:
        with connect(_pg_with(settings, password="not-the-password")):
            pass
    msg = _one_clear_line(err.value)
    assert msg.startswith("postgres at 127.0.0.1:")
    assert "password authentication failed" in msg and "MEDKB_PG_PASSWORD" in msg
    assert "not-the-password" not in msg


def test_postgres_not_running_says_how_to_start_it(settings: Settings, free_port: int) -> None:
    with pytest.raises(PostgresUnavailable) as err:
        with connect(_pg_with(settings, port=free_port)):
            pass
    msg = _one_clear_line(err.value)
    assert msg.startswith(f"postgres at 127.0.0.1:{free_port}/")
    assert "make services" in msg


def test_cli_prints_one_error_line_and_exits_1(settings: Settings) -> None:
    env = {**os.environ, "MEDKB_PG_URI": _pg_with(settings, password="wrong").pg_uri}
    result = subprocess.run(
        [sys.executable, "-m", "medkb.cli", "db", "migrate"], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("medkb db: error: postgres at"), result.stderr
    assert "Traceback" not in result.stderr


# ------------------------------------------------------------------ the services script
def test_neo4j_port_taken_fails_naming_neo4j_and_the_port(held_port: int, tmp_path: Path) -> None:
    result = _services(
        "up", "neo4j",
        MEDKB_NEO4J_BOLT_PORT=str(held_port), MEDKB_NEO4J_HOME=str(tmp_path / "neo4j"),
        MEDKB_NEO4J_URI=f"bolt://127.0.0.1:{held_port}",
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ERROR [neo4j]:") and f"port {held_port} is taken" in last
    assert "MEDKB_NEO4J_BOLT_PORT" in last
    assert not (tmp_path / "neo4j" / "run" / "medkb-neo4j.pid").exists()


def test_redis_port_taken_fails_naming_redis_and_the_port(held_port: int, tmp_path: Path) -> None:
    # its own state directory, so the shared Redis's PID file is not consulted
    result = _services("up", "redis", MEDKB_REDIS_PORT=str(held_port), MEDKB_LOCAL_DIR=str(tmp_path))
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ERROR [redis]:") and f"port {held_port} is taken" in last


def test_failed_maven_download_fails_with_a_message(free_port: int, tmp_path: Path) -> None:
    # a fresh local dir has no cached jars; offline Maven with an empty repository cannot get any
    result = _services(
        "up", "neo4j",
        MEDKB_LOCAL_DIR=str(tmp_path), MEDKB_NEO4J_HOME=str(tmp_path / "neo4j"),
        MEDKB_NEO4J_BOLT_PORT=str(free_port), MEDKB_NEO4J_URI=f"bolt://127.0.0.1:{free_port}",
        MEDKB_MAVEN_OPTS=f"-o -Dmaven.repo.local={tmp_path / 'm2'}",
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ERROR [neo4j]: the Maven download failed"), result.stderr
    assert "make services" in last
    assert "last lines of" in result.stderr  # the tail of Maven's log comes first
    assert not (tmp_path / "neo4j-dist" / ".complete").exists()


def test_status_lists_each_service() -> None:
    result = _services("status")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [ln.split(":", 1)[0] for ln in lines] == ["postgres", "neo4j", "redis"]
    assert lines[0].startswith("postgres: online") and lines[1].startswith("neo4j: online")
    assert lines[2].startswith("redis: online")


def test_status_of_a_stopped_neo4j_says_down(tmp_path: Path) -> None:
    result = _services("status", "neo4j", MEDKB_NEO4J_HOME=str(tmp_path / "neo4j"))
    assert result.returncode == 1
    assert result.stdout.startswith("neo4j: down")


def test_up_twice_is_idempotent() -> None:
    first = _services("up")
    assert first.returncode == 0, first.stderr
    pid_line = next(ln for ln in _services("status", "neo4j").stdout.splitlines() if ln.startswith("neo4j"))
    second = _services("up")
    assert second.returncode == 0, second.stderr
    out = second.stdout
    assert "postgres: already running" in out
    assert "neo4j: already running" in out and "redis: already running" in out
    assert "fetching" not in out  # jars are cached: a second start downloads nothing
    assert _services("status", "neo4j").stdout.splitlines()[0] == pid_line  # the same process
