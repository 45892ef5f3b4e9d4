"""Read-only Cypher for analysts: the CLI (`medkb cypher`, `medkb query`), the Airflow plugin and
notebooks all come through here.

Every query runs in a READ transaction, so the server itself refuses a write; that refusal is
turned into one clear line instead of a driver stack trace.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

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


def run_read(client: GraphClient, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run `query` in a read transaction and return its rows."""
    try:
        return client.read(query, params or {})  # type: ignore[arg-type]  # analyst text, read-only by design
    except CypherSyntaxError as exc:
        raise AnalystQueryError(f"the query is not valid Cypher: {exc.message.splitlines()[0]}") from None
    except ClientError as exc:
        code = exc.code or ""
        if code.endswith("AccessMode") or "write" in (exc.message or "").lower():
            raise AnalystQueryError(
                "this statement writes to the graph, and analyst queries run read-only; "
                "changes go through the pipeline (medkb refresh, medkb kb seed/rollback)"
            ) from None
        if code.endswith("ParameterMissing"):
            raise AnalystQueryError(f"{exc.message.splitlines()[0]}: add --param name=value") from None
        raise AnalystQueryError(f"neo4j refused the query ({code}): {exc.message.splitlines()[0]}") from None


def run_named(client: GraphClient, name: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run one of the named queries in medkb/kb/queries/ with its parameters checked and defaulted."""
    q = get_query(name)
    return run_read(client, q.text, q.bind(params or {}))


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
