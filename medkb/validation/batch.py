"""Validate staged rows with a suite: quarantine the failures, move the good rows to `validated`.

Shared by the literature and records validators. Two phases: first every batch is checked
(reading only), then, in one transaction, failures are quarantined and the good rows move on.
When the failure rate passes the threshold the failures are still quarantined (so an operator
can see why) but no row moves, and `ValidationFailed` carries the summary: a retry fails the
same way until the cause is fixed, and nothing half-validated goes downstream.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import psycopg2.extras

from medkb.staging import quarantine
from medkb.validation.gx_runner import CRITICAL, WARNING, Check, run_suite

log = logging.getLogger(__name__)
DEFAULT_MAX_FAILURE_RATE = 0.10


class ValidationFailed(RuntimeError):
    """A batch failed too often (or a suite could not run); the message is the summary."""


def max_failure_rate(value: float | None = None) -> float:
    """The threshold: an explicit value, else MEDKB_MAX_FAILURE_RATE, else 10 %."""
    if value is not None:
        return value
    raw = os.environ.get("MEDKB_MAX_FAILURE_RATE", str(DEFAULT_MAX_FAILURE_RATE))
    try:
        return float(raw)
    except ValueError:
        raise ValidationFailed(f"MEDKB_MAX_FAILURE_RATE={raw!r} is not a number; use e.g. 0.1") from None


@dataclass(frozen=True)
class Target:
    """Where the rows live (a fixed allow-listed table) and how to describe them."""

    table: str  # staged_documents | staged_clinical_records
    key_column: str  # source_key | record_key
    suite_name: str
    suite: Callable[[], list[Check]]
    frame: Callable[[pd.DataFrame], pd.DataFrame]
    payload: Callable[[dict[str, Any]], dict[str, Any]]
    notes: bool = False  # the table has a validation_notes column


@dataclass
class Outcome:
    rows: int = 0
    validated: int = 0
    quarantined: int = 0
    warned: int = 0
    summary: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {"checked": self.rows, "validated": self.validated, "quarantined": self.quarantined,
                "warned": self.warned}


def validate_batches(
    conn: Any, target: Target, batches: Iterator[list[dict[str, Any]]], run_id: str,
    threshold: float | None = None,
) -> Outcome:
    """Check every batch, then quarantine failures and advance the good rows (see module doc)."""
    limit = max_failure_rate(threshold)
    checks = target.suite()
    out = Outcome()
    entries: list[quarantine.QuarantineEntry] = []
    good: list[tuple[str, str, int]] = []
    notes: list[tuple[str, str, int, str]] = []
    bad_keys: list[tuple[str, str, int]] = []
    per_check: dict[str, int] = {}
    examples: dict[str, list[str]] = {}
    severity = {c.name: c.severity for c in checks}
    for rows in batches:
        df = target.frame(pd.DataFrame(rows))
        result = run_suite(target.suite_name, checks, df)
        if result.errors:
            raise ValidationFailed(f"{target.suite_name} suite could not run: " + "; ".join(result.errors))
        keys = df[target.key_column]
        for name, idx in result.per_check.items():
            per_check[name] = per_check.get(name, 0) + len(idx)
            examples.setdefault(name, []).extend(str(keys[i]) for i in idx[: 3 - len(examples.get(name, []))])
        critical = result.critical_indices()
        for i, row in zip(df.index, rows, strict=True):
            key = (row["source"], row[target.key_column], row["version"])
            fails = result.failures.get(i, [])
            if i in critical:
                bad_keys.append(key)
                entries.append(quarantine.QuarantineEntry(
                    source=key[0], key=key[1], version=key[2], stage="validate",
                    reasons=[f.as_reason() for f in fails], payload=target.payload(row), table=target.table,
                ))
            else:
                good.append(key)
                warns = [f.as_reason() for f in fails if f.severity == WARNING]
                if warns and target.notes:
                    notes.append((*key, json.dumps(warns, default=str)))
        out.rows += len(rows)
    out.quarantined, out.validated, out.warned = len(entries), len(good), len(notes)
    out.summary = _log_summary(target.suite_name, out.rows, per_check, examples, severity)
    quarantine.put(conn, entries, run_id)
    rate = out.quarantined / out.rows if out.rows else 0.0
    if rate > limit:
        conn.commit()  # keep the quarantine entries for the operator; no row moves
        top = ", ".join(f"{k} {v}" for k, v in sorted(per_check.items(), key=lambda kv: -kv[1]))
        raise ValidationFailed(
            f"{target.suite_name}: {out.quarantined} of {out.rows} rows failed ({rate:.1%} > {limit:.1%} allowed); "
            f"no row was advanced. Failing checks: {top}. Inspect with `medkb quarantine list`, fix the "
            "source, or raise MEDKB_MAX_FAILURE_RATE if this is expected."
        )
    _set_state(conn, target, bad_keys, "quarantined")
    _set_state(conn, target, good, "validated")
    _close_entries(conn, good)
    if notes:
        with conn.cursor() as cur:
            psycopg2.extras.execute_values(
                cur,
                # target.table / key_column come from the fixed Target definitions, never from input
                f"UPDATE {target.table} AS d SET validation_notes = v.notes::jsonb "  # noqa: S608
                f"FROM (VALUES %s) AS v(source, key, version, notes) WHERE d.source = v.source "
                f"AND d.{target.key_column} = v.key AND d.version = v.version",
                notes, page_size=1000,
            )
    return out


def _log_summary(suite: str, rows: int, per_check: dict[str, int], examples: dict[str, list[str]],
                 severity: dict[str, str]) -> list[str]:
    """One line per failing check with its count and three example keys; never row values."""
    lines = []
    for name, n in sorted(per_check.items(), key=lambda kv: -kv[1]):
        sev = severity.get(name, CRITICAL)
        line = f"{suite}: {name} ({sev}) failed for {n} of {rows} rows, e.g. {', '.join(examples.get(name, []))}"
        (log.warning if sev == WARNING else log.error)(line)
        lines.append(line)
    return lines


def _close_entries(conn: Any, keys: Sequence[tuple[str, str, int]]) -> None:
    """A row that now passes (fixed at the source and re-staged) closes its old quarantine entry."""
    if not keys:
        return
    with conn.cursor() as cur:
        psycopg2.extras.execute_values(
            cur,
            "UPDATE quarantine AS q SET status = 'released', released_at = now() "
            "FROM (VALUES %s) AS k(source, key, version) WHERE q.source = k.source AND q.source_key = k.key "
            "AND q.version = k.version AND q.stage = 'validate' AND q.status = 'quarantined'",
            list(keys), page_size=2000,
        )


def _set_state(conn: Any, target: Target, keys: Sequence[tuple[str, str, int]], state: str) -> None:
    if not keys:
        return
    with conn.cursor() as cur:
        psycopg2.extras.execute_values(
            cur,
            # table and column from the fixed Target definitions (allow-list); values as parameters
            f"UPDATE {target.table} AS d SET state = k.state, updated_at = now() "  # noqa: S608
            f"FROM (VALUES %s) AS k(source, key, version, state) WHERE d.source = k.source "
            f"AND d.{target.key_column} = k.key AND d.version = k.version AND d.state = 'staged'",
            [(*k, state) for k in keys], page_size=2000,
        )
