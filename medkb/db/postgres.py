"""The project's one way into Postgres: a thin, typed wrapper around a psycopg2 connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2
import psycopg2.extras

from medkb.settings import Settings


class PostgresUnavailable(RuntimeError):
    """Postgres cannot be reached or refused the login; the message says what to do."""


def _describe(uri: str) -> str:
    return uri.rsplit("@", 1)[-1]


@contextmanager
def connect(settings: Settings, *, autocommit: bool = False) -> Iterator[psycopg2.extensions.connection]:
    """A connection that commits when the block succeeds and rolls back when it raises."""
    try:
        conn = psycopg2.connect(settings.pg_uri, connect_timeout=10, application_name="medkb")
    except psycopg2.OperationalError as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        if "password authentication failed" in msg:
            hint = "wrong password: check MEDKB_PG_PASSWORD / the Airflow connection medkb_postgres"
        elif "does not exist" in msg:
            hint = "the database or role is missing: run `make services` to create them"
        else:
            hint = "is Postgres running? `make services` starts it, `make services-status` checks it"
        raise PostgresUnavailable(f"postgres at {_describe(settings.pg_uri)}: {msg} ({hint})") from None
    conn.autocommit = autocommit
    try:
        yield conn
        if not autocommit:
            conn.commit()
    except BaseException:
        if not autocommit:
            conn.rollback()
        raise
    finally:
        conn.close()


def fetch_all(conn: Any, sql: str, params: tuple | dict | None = None) -> list[dict[str, Any]]:
    """Run a parameterised query and return rows as dicts."""
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(sql, params)
        return [dict(r) for r in cur.fetchall()]


def execute(conn: Any, sql: str, params: tuple | dict | None = None) -> int:
    """Run a parameterised statement; return the number of rows it touched."""
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.rowcount
