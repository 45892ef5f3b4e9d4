"""Stage pseudonymised patient records (FHIR bundles) into Postgres: cases and clinical records.

One transaction per bundle file: its cases, records, quarantine entries, the file's
`ingested_files` row and the watermark commit together. A file already ingested with the same
content is skipped, so re-scanning a drop folder every night changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import psycopg2.extras

from medkb.settings import Settings
from medkb.sources.clinical_records import ClinicalRecord, PatientCase
from medkb.sources.fhir import SOURCE, read_fhir_bundle
from medkb.sources.pseudonym import Pseudonymiser
from medkb.sources.rejected import Rejected
from medkb.staging import quarantine
from medkb.staging.documents import StageCounts
from medkb.staging.ingest import rejected_entry
from medkb.staging.record_files import stage_record_files

log = logging.getLogger(__name__)

_CASES = """
INSERT INTO staged_cases AS c (source, case_key, version, gender, birth_year, deceased, content_hash, origin, run_id)
VALUES %s
ON CONFLICT (source, case_key, version) DO UPDATE SET
    gender = EXCLUDED.gender, birth_year = EXCLUDED.birth_year, deceased = EXCLUDED.deceased,
    content_hash = EXCLUDED.content_hash, origin = EXCLUDED.origin, run_id = EXCLUDED.run_id,
    state = 'staged', updated_at = now()
WHERE c.content_hash <> EXCLUDED.content_hash
RETURNING (xmax = 0) AS inserted
"""

_RECORDS = """
INSERT INTO staged_clinical_records AS r
    (source, record_key, version, case_key, resource_type, code_system, code, display, value, value_text,
     unit, effective_at, note_text, payload, content_hash, run_id)
VALUES %s
ON CONFLICT (source, record_key, version) DO UPDATE SET
    case_key = EXCLUDED.case_key, resource_type = EXCLUDED.resource_type, code_system = EXCLUDED.code_system,
    code = EXCLUDED.code, display = EXCLUDED.display, value = EXCLUDED.value, value_text = EXCLUDED.value_text,
    unit = EXCLUDED.unit, effective_at = EXCLUDED.effective_at, note_text = EXCLUDED.note_text,
    payload = EXCLUDED.payload, content_hash = EXCLUDED.content_hash, run_id = EXCLUDED.run_id,
    state = 'staged', updated_at = now()
WHERE r.content_hash <> EXCLUDED.content_hash
RETURNING (xmax = 0) AS inserted
"""


def bundle_files(paths: Iterable[Path]) -> list[Path]:
    """The JSON files named, or found (sorted) in the folders named."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(q for q in p.rglob("*.json") if q.is_file()))
        else:
            found.append(p)
    return found


def ingest_fhir_paths(
    settings: Settings, paths: Iterable[Path], run_id: str, progress: Callable[[int], None] | None = None
) -> dict[str, int]:
    """Stage every bundle under `paths`; return staged/updated/unchanged/quarantined counts."""
    def stage(conn: Any, path: Path, pseudo: Pseudonymiser) -> tuple[StageCounts, dict[str, int]]:
        counts, n_cases = stage_bundle(conn, read_fhir_bundle(path, pseudo), run_id)
        return counts, {"cases": n_cases}

    return stage_record_files(settings, SOURCE, bundle_files(paths), run_id, stage, tallies=("cases",),
                              what="bundle files", progress=progress)


def stage_bundle(conn: Any, records: Iterator[PatientCase | ClinicalRecord | Rejected],
                 run_id: str) -> tuple[StageCounts, int]:
    """Upsert one bundle's cases and records (the caller owns the transaction)."""
    cases: list[PatientCase] = []
    rows: dict[tuple[str, str, int], ClinicalRecord] = {}
    rejected: list[Rejected] = []
    for rec in records:
        if isinstance(rec, PatientCase):
            cases.append(rec)
        elif isinstance(rec, ClinicalRecord):
            rows[(rec.source, rec.key, rec.version)] = rec
        else:
            rejected.append(rec)
    counts = StageCounts()
    with conn.cursor() as cur:
        if cases:
            psycopg2.extras.execute_values(cur, _CASES, [
                (c.source, c.key, c.version, c.gender, c.birth_year, c.deceased, c.content_hash, c.origin, run_id)
                for c in cases], fetch=True)
        if rows:
            result = psycopg2.extras.execute_values(cur, _RECORDS, [
                (r.source, r.key, r.version, r.case_key, r.resource_type, r.code_system, r.code, r.display,
                 r.value, r.value_text, r.unit, r.effective_at, r.note_text,
                 json.dumps(dict(r.payload), default=str), r.content_hash, run_id)
                for r in rows.values()], page_size=1000, fetch=True)
            counts.staged = sum(1 for (ins,) in result if ins)
            counts.updated = len(result) - counts.staged
            counts.unchanged = len(rows) - len(result)
    counts.quarantined = quarantine.put(conn, [rejected_entry(r) for r in rejected], run_id)
    return counts, len(cases)
