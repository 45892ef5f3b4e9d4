"""The plugin's hook builds the project's GraphClient from the Airflow connection, and its operator
hands every argument to that hook."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugins"))  # as Airflow does

import medkb_plugin  # noqa: E402
from medkb_plugin import MedKBCypherOperator, MedKBGraphHook  # noqa: E402


class RecordingHook:
    """Stands in for MedKBGraphHook and records what the operator gives it."""

    instances: list[RecordingHook] = []

    def __init__(self, conn_id: str) -> None:
        self.conn_id = conn_id
        self.calls: list[tuple[str, str, dict]] = []
        self.closed = False
        RecordingHook.instances.append(self)

    def read(self, cypher: str, parameters: dict) -> list[dict[str, Any]]:
        self.calls.append(("read", cypher, parameters))
        return [{"rows": "read"}]

    def write(self, cypher: str, parameters: dict) -> dict[str, int]:
        self.calls.append(("write", cypher, parameters))
        return {"nodes_created": 1}

    def __enter__(self) -> RecordingHook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> type[RecordingHook]:
    RecordingHook.instances = []
    monkeypatch.setattr(medkb_plugin, "MedKBGraphHook", RecordingHook)
    return RecordingHook


@pytest.mark.parametrize("write", [False, True])
def test_every_operator_argument_reaches_the_hook(recording: type[RecordingHook], write: bool) -> None:
    op = MedKBCypherOperator(
        task_id="q", cypher="MATCH (d:Document {pmid: $pmid}) RETURN d.title AS title",
        parameters={"pmid": "123"}, write=write, conn_id="medkb_neo4j_other",
    )
    result = op.execute(context={})
    (hook,) = recording.instances
    assert hook.conn_id == "medkb_neo4j_other"
    assert hook.calls == [("write" if write else "read", op.cypher, {"pmid": "123"})]
    assert result == ({"nodes_created": 1} if write else [{"rows": "read"}])
    assert hook.closed


def test_defaults_use_the_medkb_neo4j_connection_and_a_read(recording: type[RecordingHook]) -> None:
    MedKBCypherOperator(task_id="q", cypher="RETURN 1 AS one").execute(context={})
    (hook,) = recording.instances
    assert hook.conn_id == "medkb_neo4j" and hook.calls == [("read", "RETURN 1 AS one", {})]


def test_parameters_are_templated_and_the_statement_is_not() -> None:
    op = MedKBCypherOperator(task_id="q", cypher="RETURN $day AS day", parameters={"day": "{{ ds }}"})
    assert op.template_fields == ("parameters",)
    op.render_template_fields(context={"ds": "2026-11-28"})
    assert op.parameters == {"day": "2026-11-28"}


def test_constructor_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="q: cypher must be a non-empty"):
        MedKBCypherOperator(task_id="q", cypher="  ")
    with pytest.raises(TypeError, match="parameters must be a mapping"):
        MedKBCypherOperator(task_id="q", cypher="RETURN 1", parameters=[1, 2])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        MedKBCypherOperator("q", "RETURN 1")  # type: ignore[misc]  # keyword-only


def test_hook_target_comes_from_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MEDKB_GRAPH_X", "neo4j://ana:s%40cret@graph.example:7700/kbdb")
    target = MedKBGraphHook("medkb_graph_x").target()
    assert (target.uri, target.user, target.password, target.database) == (
        "bolt://graph.example:7700", "ana", "s@cret", "kbdb"
    )
    assert "s@cret" not in repr(target)


def test_a_connection_without_host_names_it_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MEDKB_NOHOST", '{"conn_type": "neo4j", "login": "neo4j"}')
    with pytest.raises(ValueError, match="'medkb_nohost' has no host: set AIRFLOW_CONN_MEDKB_NOHOST"):
        MedKBGraphHook("medkb_nohost").target()


@pytest.mark.integration
def test_operator_writes_and_reads_the_real_graph(graph: Any) -> None:
    # AIRFLOW_CONN_MEDKB_NEO4J (ops/env.sh) points at the test Neo4j that `graph` just emptied
    created = MedKBCypherOperator(
        task_id="w", write=True,
        cypher="MERGE (d:Document {pmid: $pmid}) SET d.title = $title",
        parameters={"pmid": "plugin-1", "title": "{{ ds }} title"},
    )
    created.render_template_fields(context={"ds": "2026-11-28"})
    assert created.execute(context={})["nodes_created"] == 1
    rows = MedKBCypherOperator(
        task_id="r", cypher="MATCH (d:Document {pmid: $pmid}) RETURN d.title AS title", parameters={"pmid": "plugin-1"}
    ).execute(context={})
    assert rows == [{"title": "2026-11-28 title"}]
    with MedKBGraphHook() as hook:
        client = hook.get_conn()
        assert hook.get_conn() is client  # cached
        assert hook.read("MATCH (d:Document) RETURN count(d) AS n") == [{"n": 1}]
    assert hook._client is None  # closed on exit
