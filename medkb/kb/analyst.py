"""Read-only Cypher for analysts: the CLI (`medkb cypher`, `medkb query`), the Airflow plugin and
notebooks all come through here.

Every query runs in a READ transaction, so the server itself refuses a write; that refusal is
turned into one clear line instead of a driver stack trace. Each transaction carries a timeout the
server enforces (MEDKB_ANALYST_TIMEOUT_S) and returns at most MEDKB_ANALYST_MAX_ROWS rows, so a
runaway query cannot hold the server. Procedures that reach files or the network are not loaded at
all (the allow-list in ops/services.sh); docs/analyst.md says what Neo4j Community can and cannot
enforce per user.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import neo4j
from neo4j.exceptions import ClientError, CypherSyntaxError

from medkb.kb.client import GraphClient
from medkb.kb.queries import get_query

FORMATS = ("table", "csv", "json")


class AnalystQueryError(RuntimeError):
    """The query was refused or is malformed; the message says why and what to do."""


def parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    """`name=value` pairs. A value that reads as JSON (numbers, true/false, null, lists, objects)
    takes that type; anything else is a string. Quote to force a string: `id='"123"'`."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.isidentifier():
            raise AnalystQueryError(f"parameter {pair!r}: expected name=value (e.g. --param chemical=MESH:D008094)")
        try:
            out[name] = json.loads(raw)
        except ValueError:
            out[name] = raw
    return out


@dataclass(frozen=True)
class AnalystLimits:
    """What one analyst query may take: seconds (enforced by the server) and rows returned."""

    timeout_s: float = 60.0
    max_rows: int = 10000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AnalystLimits:
        env = os.environ if env is None else env
        try:
            limits = cls(timeout_s=float(env.get("MEDKB_ANALYST_TIMEOUT_S", cls.timeout_s)),
                         max_rows=int(env.get("MEDKB_ANALYST_MAX_ROWS", cls.max_rows)))
        except ValueError:
            raise AnalystQueryError("MEDKB_ANALYST_TIMEOUT_S must be a number of seconds and "
                                    "MEDKB_ANALYST_MAX_ROWS a whole number (see ops/env.sh)") from None
        if limits.timeout_s <= 0 or limits.max_rows < 1:
            raise AnalystQueryError("MEDKB_ANALYST_TIMEOUT_S and MEDKB_ANALYST_MAX_ROWS must be positive")
        return limits


class _TooManyRows(Exception):
    pass


def _read_limited(client: GraphClient, query: str, params: Mapping[str, Any],
                  limits: AnalystLimits) -> list[dict[str, Any]]:
    """A read transaction with the server-side timeout; stops reading past `max_rows` (the
    transaction is rolled back and the server stops producing rows)."""

    @neo4j.unit_of_work(timeout=limits.timeout_s)
    def work(tx: neo4j.ManagedTransaction) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for record in tx.run(query, dict(params)):  # type: ignore[arg-type]  # analyst text, read-only by design
            if len(rows) >= limits.max_rows:
                raise _TooManyRows
            rows.append(record.data())
        return rows

    with client.driver.session(database=client.target.database, default_access_mode=neo4j.READ_ACCESS) as s:
        return s.execute_read(work)


def run_read(client: GraphClient, query: str, params: dict[str, Any] | None = None,
             limits: AnalystLimits | None = None) -> list[dict[str, Any]]:
    """Run `query` in a read transaction, within the analyst limits, and return its rows."""
    limits = limits or AnalystLimits.from_env()
    try:
        return _read_limited(client, query, params or {}, limits)
    except _TooManyRows:
        raise AnalystQueryError(
            f"the query returns more than {limits.max_rows} rows; add a LIMIT or aggregate "
            "(MEDKB_ANALYST_MAX_ROWS raises the cap)"
        ) from None
    except CypherSyntaxError as exc:
        first = exc.message.splitlines()[0]
        if first.startswith("Unknown function 'apoc."):
            raise AnalystQueryError(
                f"{first}: that function is not loaded on this server; analysts get only the APOC "
                "functions that neither read files nor fetch URLs (docs/analyst.md, the allow-list)"
            ) from None
        raise AnalystQueryError(f"the query is not valid Cypher: {first}") from None
    except ClientError as exc:
        code = exc.code or ""
        message = (exc.message or "").splitlines()[0] if exc.message else ""
        if code.endswith("ProcedureNotFound"):
            raise AnalystQueryError(
                f"{message.split('. ')[0]}: analysts get only procedures that read the graph; those that "
                "read files or reach the network (apoc.load.*, apoc.import.*, apoc.export.*, ...) are not "
                "loaded (docs/analyst.md, the allow-list)"
            ) from None
        if code.endswith("ExternalResourceFailed"):
            raise AnalystQueryError(
                f"LOAD CSV refused: {message.split(': ', 1)[-1].strip(' ()')}; the server fetches no URL and "
                "reads files only from its empty import folder (docs/analyst.md)"
            ) from None
        if "TransactionTimedOut" in code:
            raise AnalystQueryError(
                f"the query ran past the {limits.timeout_s:g} s analyst timeout and the server stopped it; "
                "narrow it (an indexed id, a LIMIT) or raise MEDKB_ANALYST_TIMEOUT_S"
            ) from None
        if code.endswith("AccessMode") or "write" in (exc.message or "").lower():
            raise AnalystQueryError(
                "this statement writes to the graph, and analyst queries run read-only; "
                "changes go through the pipeline (medkb refresh, medkb kb seed/rollback)"
            ) from None
        if code.endswith("ParameterMissing"):
            raise AnalystQueryError(f"{exc.message.splitlines()[0]}: add --param name=value") from None
        raise AnalystQueryError(f"neo4j refused the query ({code}): {message}") from None


def run_named(client: GraphClient, name: str, params: dict[str, Any] | None = None,
              limits: AnalystLimits | None = None) -> list[dict[str, Any]]:
    """Run one of the named queries in medkb/kb/queries/ with its parameters checked and defaulted."""
    q = get_query(name)
    return run_read(client, q.text, q.bind(params or {}), limits)


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def format_rows(rows: list[dict[str, Any]], fmt: str = "table", max_width: int = 60) -> str:
    """Render rows as an aligned text table, CSV or JSON (one document, a list of objects)."""
    if fmt not in FORMATS:
        raise AnalystQueryError(f"format {fmt!r}: choose one of {FORMATS}")
    if fmt == "json":
        return json.dumps(rows, indent=2, default=str)
    columns = list(rows[0]) if rows else []
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for r in rows:
            writer.writerow([_cell(r.get(c)) for c in columns])
        return buf.getvalue().rstrip("\n")
    if not rows:
        return "(no rows)"
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    cells = [[v if len(v) <= max_width else v[: max_width - 1] + "…" for v in row] for row in cells]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)
