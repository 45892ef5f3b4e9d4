"""Stage phenopacket cases into Postgres: `staged_cases` (source 'phenopacket') and `case_phenotypes`.

One transaction per file: its cases, their terms, the quarantine entries of its rejected records,
the `ingested_files` row and the watermark commit together; a file already ingested with the same
content is skipped. A re-staged case's terms replace its earlier ones (a corrected phenopacket may
drop a term). Unreadable files get one quarantine entry each; the other files go on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import psycopg2.extras

from medkb.settings import Settings
from medkb.sources.hpo_ids import HpoIdMap
from medkb.sources.phenopacket import SOURCE, PhenopacketCase, phenopacket_files, read_phenopackets
from medkb.sources.pseudonym import Pseudonymiser
from medkb.sources.rejected import Rejected
from medkb.staging import quarantine
from medkb.staging.documents import StageCounts
from medkb.staging.ingest import rejected_entry
from medkb.staging.record_files import stage_record_files

log = logging.getLogger(__name__)

_CASES = """
INSERT INTO staged_cases AS c (source, case_key, version, gender, birth_year, deceased, content_hash, origin,
    run_id, diagnosis, diagnosis_label, onset, age, reference, term_notes)
VALUES %s
ON CONFLICT (source, case_key, version) DO UPDATE SET
    gender = EXCLUDED.gender, content_hash = EXCLUDED.content_hash, origin = EXCLUDED.origin,
    run_id = EXCLUDED.run_id, diagnosis = EXCLUDED.diagnosis, diagnosis_label = EXCLUDED.diagnosis_label,
    onset = EXCLUDED.onset, age = EXCLUDED.age, reference = EXCLUDED.reference,
    term_notes = EXCLUDED.term_notes, state = 'staged', updated_at = now()
WHERE c.content_hash <> EXCLUDED.content_hash
RETURNING case_key, (xmax = 0) AS inserted
"""
_TERMS = """
INSERT INTO case_phenotypes (source, case_key, hpo_id, excluded, onset, evidence, run_id) VALUES %s
ON CONFLICT (source, case_key, hpo_id, excluded) DO UPDATE SET
    onset = EXCLUDED.onset, evidence = EXCLUDED.evidence, run_id = EXCLUDED.run_id
"""


def ingest_phenopacket_paths(settings: Settings, paths: Sequence[Path], run_id: str, ids: HpoIdMap,
                             progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Stage every phenopacket file under `paths`; return staged/updated/unchanged/quarantined counts.
    `progress` ticks once a phenopacket."""
    def stage(conn: Any, path: Path, pseudo: Pseudonymiser) -> tuple[StageCounts, dict[str, int]]:
        return stage_phenopackets(conn, read_phenopackets(path, pseudo, ids), run_id, progress)

    return stage_record_files(settings, SOURCE, phenopacket_files(paths), run_id, stage,
                              tallies=("terms_replaced", "terms_unknown"))


def stage_phenopackets(conn: Any, records: Iterable[PhenopacketCase | Rejected], run_id: str,
                       progress: Callable[[int], None] | None = None) -> tuple[StageCounts, dict[str, int]]:
    """Upsert one file's cases and terms (the caller owns the transaction)."""
    cases: dict[str, PhenopacketCase] = {}
    rejected: list[Rejected] = []
    for rec in records:
        if isinstance(rec, PhenopacketCase):
            cases[rec.key] = rec  # a case repeated in one file: the later record wins
        else:
            log.warning("phenopacket: %s", rec.reason)
            rejected.append(rec)
        if progress:
            progress(1)
    counts = StageCounts()
    changed: set[str] = set()
    batch = list(cases.values())
    with conn.cursor() as cur:
        for start in range(0, len(batch), 1000):
            part = batch[start:start + 1000]
            result = psycopg2.extras.execute_values(cur, _CASES, [
                (c.source, c.key, c.version, c.sex, None, False, c.content_hash, c.origin, run_id, c.diagnosis,
                 c.diagnosis_label, c.onset, c.age, c.reference,
                 json.dumps([n.__dict__ for n in c.notes])) for c in part], fetch=True)
            changed.update(key for key, _ in result)
            counts.staged += sum(1 for _, ins in result if ins)
            counts.updated += sum(1 for _, ins in result if not ins)
        counts.unchanged = len(batch) - len(changed)
        keys = sorted(changed)
        if keys:
            cur.execute("DELETE FROM case_phenotypes WHERE source = %s AND case_key = ANY(%s)", (SOURCE, keys))
            rows = [(SOURCE, c.key, t.hpo_id, t.excluded, t.onset, "phenopacket", run_id)
                    for k in keys for c in (cases[k],) for t in c.terms]
            psycopg2.extras.execute_values(cur, _TERMS, rows, page_size=5000)
    counts.quarantined = quarantine.put(conn, [rejected_entry(r) for r in rejected], run_id)
    notes = {"terms_replaced": sum(1 for c in cases.values() for n in c.notes if n.status == "replaced"),
             "terms_unknown": sum(1 for c in cases.values() for n in c.notes if n.status != "replaced")}
    return counts, notes
