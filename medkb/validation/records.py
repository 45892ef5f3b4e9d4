"""Validate staged clinical records (pseudonymised FHIR facts) with the records suite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from medkb.db.postgres import fetch_all
from medkb.validation.batch import Outcome, Target, validate_batches
from medkb.validation.suites import records_frame, records_suite

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


def _batches(conn: Any, batch: int) -> Iterator[list[dict[str, Any]]]:
    after = ("", "", 0)
    while True:
        rows = fetch_all(
            conn,
            f"SELECT {_COLUMNS} FROM staged_clinical_records "  # noqa: S608 (fixed column list)
            "WHERE state = 'staged' AND (source, record_key, version) > (%s, %s, %s) "
            "ORDER BY source, record_key, version LIMIT %s",
            (*after, batch),
        )
        if not rows:
            return
        after = (rows[-1]["source"], rows[-1]["record_key"], rows[-1]["version"])
        yield rows


def validate_staged_records(conn: Any, run_id: str, threshold: float | None = None, batch: int = BATCH) -> Outcome:
    """Quarantine failing clinical records, move the rest to `validated`."""
    return validate_batches(conn, TARGET, _batches(conn, batch), run_id, threshold)
