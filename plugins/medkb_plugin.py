"""MedKB's Airflow plugin: a thin hook and operator around `medkb.kb.client.GraphClient`.

The hook is the only place a DAG gets a graph client from: settings and secrets arrive through
the Airflow connection `medkb_neo4j` (an AIRFLOW_CONN_MEDKB_NEO4J variable or the UI), never
through code. It closes the driver when the block ends, which the upstream Neo4jHook leaves to
the caller. DAGs import it as `from medkb_plugin import MedKBCypherOperator, MedKBGraphHook`
(Airflow puts the plugins folder on sys.path).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow.plugins_manager import AirflowPlugin
from airflow.sdk import BaseHook, BaseOperator

from medkb.kb.client import GraphClient
from medkb.settings import Neo4jTarget

DEFAULT_CONN_ID = "medkb_neo4j"


class MedKBGraphHook(BaseHook):
    """One GraphClient built from one Airflow connection, cached, closed on exit."""

    conn_name_attr = "conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "neo4j"
    hook_name = "MedKB Neo4j graph"

    def __init__(self, conn_id: str = DEFAULT_CONN_ID) -> None:
        super().__init__()
        self.conn_id = conn_id
        self._client: GraphClient | None = None

    def target(self) -> Neo4jTarget:
        """Where the connection points: host, port, login, password; the schema names the database."""
        conn = self.get_connection(self.conn_id)
        if not conn.host:
            raise ValueError(
                f"Airflow connection {self.conn_id!r} has no host: set AIRFLOW_CONN_"
                f"{self.conn_id.upper()}=neo4j://user:password@host:7687 or edit it in the UI"
            )
        return Neo4jTarget(
            uri=f"bolt://{conn.host}:{conn.port or 7687}",
            user=conn.login or "neo4j",
            password=conn.password or "",
            database=conn.schema or "neo4j",
        )

    def get_conn(self) -> GraphClient:
        if self._client is None:
            self._client = GraphClient(self.target())
        return self._client

    def read(self, cypher: str, parameters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return self.get_conn().read(cypher, parameters)  # type: ignore[arg-type]

    def write(self, cypher: str, parameters: Mapping[str, Any] | None = None) -> dict[str, int]:
        return self.get_conn().write(cypher, parameters)  # type: ignore[arg-type]

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> MedKBGraphHook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MedKBCypherOperator(BaseOperator):
    """Run one parameterised Cypher statement through MedKBGraphHook.

    Only `parameters` is templated: values reach Cypher as parameters, never formatted into
    the statement text. `write=False` runs in a read transaction, where the server refuses
    writes. Returns the rows (read) or the write counters, which go to XCom: keep reads small.
    """

    template_fields: Sequence[str] = ("parameters",)
    template_fields_renderers = {"parameters": "json"}
    ui_color = "#e6f1f2"

    def __init__(
        self,
        *,
        cypher: str,
        parameters: Mapping[str, Any] | None = None,
        write: bool = False,
        conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(cypher, str) or not cypher.strip():
            raise ValueError(f"{self.task_id}: cypher must be a non-empty Cypher statement")
        if parameters is not None and not isinstance(parameters, (Mapping, str)):
            raise TypeError(f"{self.task_id}: parameters must be a mapping, got {type(parameters).__name__}")
        self.cypher = cypher
        self.parameters = parameters
        self.write = write
        self.conn_id = conn_id

    def execute(self, context: Any) -> list[dict[str, Any]] | dict[str, int]:
        params = dict(self.parameters or {})
        with MedKBGraphHook(conn_id=self.conn_id) as hook:
            if self.write:
                return hook.write(self.cypher, params)
            return hook.read(self.cypher, params)


class MedKBPlugin(AirflowPlugin):
    """Registers the plugin by name; the hook and operator are imported from this module."""

    name = "medkb"
