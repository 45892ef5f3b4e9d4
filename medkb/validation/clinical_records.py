"""Validate staged clinical records (pseudonymised FHIR facts) with the records suite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from medkb.db.postgres import fetch_all
from medkb.validation.batch import Outcome, Target, validate_batches
from medkb.validation.suites import cases_suite, records_frame, records_suite

BATCH = 5_000
_COLUMNS = ("source, record_key, version, case_key, resource_type, code_system, code, display, value, "
            "value_text, unit, effective_at, payload")


def _payload(row: dict[str, Any]) -> dict[str, Any]:
    """Already pseudonymised at the reader; notes stay in staging (they are long and not what failed)."""
    return {k: row.get(k) for k in _COLUMNS.split(", ")}


TARGET = Target(
    table="staged_clinical_records", key_column="record_key", suite_name="records",
    suite=records_suite, frame=records_frame, payload=_payload,
)


# The staged tables this module reads, with their key column: the only names formatted into SQL.
_KEYSET = {"staged_clinical_records": "record_key", "staged_cases": "case_key"}


def _staged_batches(conn: Any, table: str, columns: str, batch: int) -> Iterator[list[dict[str, Any]]]:
    """Staged rows of `table` in key order, one batch at a time (keyset paging: no OFFSET rescans)."""
    key = _KEYSET[table]
    after = ("", "", 0)
    while True:
        rows = fetch_all(
            conn,
            f"SELECT {columns} FROM {table} "  # noqa: S608 (table, key and columns from fixed lists)
            f"WHERE state = 'staged' AND (source, {key}, version) > (%s, %s, %s) "
            f"ORDER BY source, {key}, version LIMIT %s",
            (*after, batch),
        )
        if not rows:
            return
        after = (rows[-1]["source"], rows[-1][key], rows[-1]["version"])
        yield rows


def validate_staged_records(conn: Any, run_id: str, threshold: float | None = None, batch: int = BATCH) -> Outcome:
    """Quarantine failing clinical records, move the rest to `validated`."""
    return validate_batches(conn, TARGET, _staged_batches(conn, TARGET.table, _COLUMNS, batch), run_id, threshold)


_CASE_COLUMNS = "source, case_key, version, gender, birth_year, deceased, origin"

CASES = Target(
    table="staged_cases", key_column="case_key", suite_name="cases",
    suite=cases_suite, frame=lambda df: df, payload=lambda row: {k: row.get(k) for k in _CASE_COLUMNS.split(", ")},
)


def validate_staged_cases(conn: Any, run_id: str, threshold: float | None = None, batch: int = BATCH) -> Outcome:
    """Quarantine implausible cases (bad pseudonym, gender, birth year), move the rest to `validated`."""
    return validate_batches(conn, CASES, _staged_batches(conn, CASES.table, _CASE_COLUMNS, batch), run_id, threshold)
