"""Validate staged literature (MEDLINE, PubMed, PubTator, BioC) with the literature suite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from medkb.db.postgres import fetch_all
from medkb.validation.batch import Outcome, Target, validate_batches
from medkb.validation.suites import literature_frame, literature_suite

BATCH = 10_000
_COLUMNS = "source, source_key, version, title, abstract, language, journal, pub_year, mesh_terms, origin"


def _payload(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in _COLUMNS.split(", ")}


TARGET = Target(
    table="staged_documents", key_column="source_key", suite_name="literature",
    suite=literature_suite, frame=literature_frame, payload=_payload, notes=True,
)


def _batches(conn: Any, batch: int) -> Iterator[list[dict[str, Any]]]:
    """Staged rows, the newest version of each key, not retracted, in key order, `batch` at a time."""
    after = ("", "")
    while True:
        rows = fetch_all(
            conn,
            f"SELECT {_COLUMNS} FROM staged_documents "  # noqa: S608 (fixed column list)
            "WHERE state = 'staged' AND NOT retracted AND NOT superseded AND (source, source_key) > (%s, %s) "
            "ORDER BY source, source_key, version DESC LIMIT %s",
            (*after, batch),
        )
        if not rows:
            return
        after = (rows[-1]["source"], rows[-1]["source_key"])
        yield rows


def validate_staged_literature(
    conn: Any, run_id: str, threshold: float | None = None, batch: int = BATCH
) -> Outcome:
    """Quarantine failing citations, move the rest to `validated` (see medkb.validation.batch)."""
    return validate_batches(conn, TARGET, _batches(conn, batch), run_id, threshold)
