"""MedKB's Airflow plugin: a thin hook and operator around `medkb.kb.client.GraphClient`.

The hook is the only place a DAG gets a graph client from: settings and secrets arrive through
the Airflow connection `medkb_neo4j` (an AIRFLOW_CONN_MEDKB_NEO4J variable or the UI), never
through code. It closes the driver when the block ends, which the upstream Neo4jHook leaves to
the caller. DAGs import it as `from medkb_plugin import MedKBCypherOperator, MedKBGraphHook`
(Airflow puts the plugins folder on sys.path).

`MedKBHook` gives a DAG task the library's whole `Settings` from the connections `medkb_postgres`
and `medkb_neo4j`; both hooks build the Neo4j target the same way (`neo4j_target`), so a TLS
scheme (`neo4j+s://`, `bolt+ssc://`, or upstream Neo4jHook's `encrypted` / `certs_self_signed`
extras) reaches the driver instead of being flattened to `bolt://`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from airflow.plugins_manager import AirflowPlugin
from airflow.sdk import BaseHook, BaseOperator

from medkb.settings import Neo4jTarget, Settings

if TYPE_CHECKING:  # the driver is imported when a client is built, not when a DAG file is parsed
    from medkb.kb.client import GraphClient

DEFAULT_CONN_ID = "medkb_neo4j"
POSTGRES_CONN_ID = "medkb_postgres"
SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")


def neo4j_target(conn: Any) -> Neo4jTarget:
    """A Neo4jTarget from an Airflow connection: host, port, login, password; the schema names the
    database. The scheme: the connection type when it is a driver scheme with TLS (`neo4j+s`), else
    upstream Neo4jHook's extras (`neo4j_scheme`, `encrypted`, `certs_self_signed`), else `bolt`."""
    if not conn.host:
        raise ValueError(
            f"Airflow connection {conn.conn_id!r} has no host: set AIRFLOW_CONN_"
            f"{conn.conn_id.upper()}=neo4j://user:password@host:7687 (neo4j+s:// for TLS) or edit it in the UI"
        )
    extra = conn.extra_dejson or {}
    ctype = conn.conn_type or "neo4j"
    if ctype in SCHEMES and "+" in ctype:
        scheme = ctype
    elif ctype not in ("neo4j", "bolt", ""):
        raise ValueError(f"Airflow connection {conn.conn_id!r} has type {ctype!r}; use one of {SCHEMES}")
    else:
        scheme = "neo4j" if _flag(extra.get("neo4j_scheme")) else "bolt"
        if _flag(extra.get("certs_self_signed")):
            scheme += "+ssc"
        elif _flag(extra.get("encrypted")) or _flag(extra.get("certs_trusted_ca")):
            scheme += "+s"
    return Neo4jTarget(
        uri=f"{scheme}://{conn.host}:{conn.port or 7687}",
        user=conn.login or "neo4j",
        password=conn.password or "",
        database=conn.schema or extra.get("database") or "neo4j",
    )


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true", "yes")


class MedKBHook(BaseHook):
    """The library's Settings for a task: Postgres and Neo4j from their Airflow connections, the
    rest (data folder, pseudonym key) from the worker's environment as in `Settings.from_env`."""

    conn_name_attr = "postgres_conn_id"
    default_conn_name = POSTGRES_CONN_ID
    hook_name = "MedKB settings"

    def __init__(self, postgres_conn_id: str = POSTGRES_CONN_ID, neo4j_conn_id: str = DEFAULT_CONN_ID) -> None:
        super().__init__()
        self.postgres_conn_id = postgres_conn_id
        self.neo4j_conn_id = neo4j_conn_id

    def settings(self) -> Settings:
        pg_uri = self.get_connection(self.postgres_conn_id).get_uri()
        base = Settings.from_env({**os.environ, "MEDKB_PG_URI": pg_uri})
        return replace(base, neo4j=neo4j_target(self.get_connection(self.neo4j_conn_id)))

    def get_conn(self) -> Settings:
        return self.settings()


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
        """Where the connection points (see `neo4j_target`)."""
        return neo4j_target(self.get_connection(self.conn_id))

    def get_conn(self) -> GraphClient:
        if self._client is None:
            from medkb.kb.client import GraphClient

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
