"""The records refresh: FHIR bundles and phenopackets from their drop folders become cases.

Run by `dags/medkb_records_refresh.py` (one task per stage) and publishes the cases Asset, which
wakes the diagnose pipeline. Files already ingested with the same content are skipped, so the
drop folders can be re-scanned every night; every file's rows commit with its `ingested_files` row.
Patient data stays in Postgres, pseudonymised; the counts returned here carry no identifier.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from medkb.db.postgres import connect, execute, fetch_all
from medkb.pipelines import run_status
from medkb.settings import Settings

log = logging.getLogger(__name__)
KIND = "records_refresh"


def fhir_inbox(settings: Settings, drop_dir: str | None = None) -> Path:
    return Path(drop_dir) if drop_dir else settings.data_dir / "fhir" / "inbox"


def phenopacket_inbox(settings: Settings, drop_dir: str | None = None) -> Path:
    return Path(drop_dir) if drop_dir else settings.data_dir / "phenopackets" / "inbox"


def begin(settings: Settings, run_id: str, params: dict[str, Any] | None = None) -> str:
    return run_status.start(settings, run_id, KIND, params)


def ingest_fhir(settings: Settings, run_id: str, drop_dir: str | None = None,
                max_failure_rate: float | None = None) -> dict[str, Any]:
    """Stage the FHIR bundles in the drop folder (default <data_dir>/fhir/inbox), pseudonymised,
    then validate the staged cases and records with their suites (ValidationFailed over the rate)."""
    from medkb.staging.clinical_records import ingest_fhir_paths
    from medkb.validation.clinical_records import validate_staged_cases, validate_staged_records

    inbox = fhir_inbox(settings, drop_dir)
    inbox.mkdir(parents=True, exist_ok=True)
    counts: dict[str, Any] = {"files": 0}
    if any(inbox.rglob("*.json")):
        counts = ingest_fhir_paths(settings, [inbox], run_id)
    with connect(settings) as conn:
        cases = validate_staged_cases(conn, run_id, max_failure_rate)
    with connect(settings) as conn:
        records = validate_staged_records(conn, run_id, max_failure_rate)
    log.info("fhir: %s, cases %s, records %s", counts, cases.as_dict(), records.as_dict())
    return {**counts, "case_validation": cases.as_dict(), "record_validation": records.as_dict()}


def ingest_phenopackets(settings: Settings, run_id: str, drop_dir: str | None = None) -> dict[str, Any]:
    """Stage the GA4GH phenopackets in the drop folder (default <data_dir>/phenopackets/inbox: JSON,
    JSON lines, gzipped JSON lines), then validate them, as `medkb ingest phenopacket` does."""
    from medkb.sources.hpo_ids import read_hpo_id_map
    from medkb.sources.ontologies import fetch_hpo_files
    from medkb.sources.phenopacket import phenopacket_files
    from medkb.staging.phenopackets import ingest_phenopacket_paths
    from medkb.validation.phenopackets import validate_staged_phenopackets

    inbox = phenopacket_inbox(settings, drop_dir)
    inbox.mkdir(parents=True, exist_ok=True)
    if not phenopacket_files([inbox]):
        return {"files": 0}
    ids = read_hpo_id_map(fetch_hpo_files(settings.data_dir)["hp.obo"])
    counts = ingest_phenopacket_paths(settings, [inbox], run_id, ids)
    with connect(settings) as conn:
        outcome = validate_staged_phenopackets(conn, run_id)
    log.info("phenopackets: %s, validation %s", counts, outcome.as_dict())
    return {**counts, "validation": outcome.as_dict()}


_NOTES = """
SELECT DISTINCT ON (source, record_key) source, case_key, record_key, content_hash, note_text, effective_at
FROM staged_clinical_records
WHERE resource_type = 'DocumentReference' AND state <> 'quarantined' AND note_text IS NOT NULL
ORDER BY source, record_key, version DESC
"""
NOTE_EVIDENCE = "note"  # case_phenotypes.evidence of this stage's rows starts with it


def extract_notes(settings: Settings, run_id: str) -> dict[str, Any]:
    """HPO phenotypes from the staged clinical notes (nlp/note_phenotypes.py) into `case_phenotypes`.

    A case is read again when one of its notes is new or changed, or the serving model changed;
    its note phenotypes are then replaced as a whole (each term once, from its earliest note), in
    one transaction per case, so a re-run changes nothing and an interrupted run resumes.
    """
    from tqdm import tqdm

    from medkb.nlp.note_phenotypes import note_phenotypes
    from medkb.pipelines.kb_extraction import serving_extractor

    counts = {"cases": 0, "notes": 0, "phenotypes": 0, "excluded": 0}
    with connect(settings) as conn:
        notes = fetch_all(conn, _NOTES)
        if not notes:
            return counts
        done = {(r["source"], r["record_key"]): (r["content_hash"], r["model"])
                for r in fetch_all(conn, "SELECT source, record_key, content_hash, model FROM note_extractions")}
        extractor = None
        by_case: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for n in notes:
            by_case.setdefault((n["source"], n["case_key"]), []).append(n)
        for (source, case_key), case_notes in tqdm(sorted(by_case.items()), desc="notes", unit="case",
                                                   disable=len(by_case) < 5):
            if extractor is None:
                extractor = _notes_extractor(serving_extractor(settings, conn))
            if all(done.get((source, n["record_key"])) == (n["content_hash"], extractor.version) for n in case_notes):
                continue
            case_notes.sort(key=lambda n: (n["effective_at"] is None, n["effective_at"], n["record_key"]))
            found = note_phenotypes(extractor, [(n["record_key"], n["note_text"]) for n in case_notes])
            first: dict[tuple[str, bool], Any] = {}
            when = {n["record_key"]: n["effective_at"] for n in case_notes}
            for p in found:  # notes in date order: the first mention of a term is its earliest
                first.setdefault((p.hpo_id, p.excluded), p)
            execute(conn, "DELETE FROM case_phenotypes WHERE source = %s AND case_key = %s AND evidence LIKE %s",
                    (source, case_key, NOTE_EVIDENCE + "%"))
            for (hpo_id, excluded), p in sorted(first.items()):
                at = when[p.record_key]
                execute(conn, "INSERT INTO case_phenotypes (source, case_key, hpo_id, excluded, onset, evidence, run_id) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                        (source, case_key, hpo_id, excluded, at.date().isoformat() if at else None,
                         f"{NOTE_EVIDENCE} {at.date().isoformat() if at else ''}: '{p.text[:60]}'", run_id))
            per_note: dict[str, int] = {}
            for p in found:
                per_note[p.record_key] = per_note.get(p.record_key, 0) + 1
            for n in case_notes:
                execute(conn, "INSERT INTO note_extractions (source, record_key, case_key, content_hash, model, "
                        "phenotypes, run_id) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (source, record_key) "
                        "DO UPDATE SET case_key = EXCLUDED.case_key, content_hash = EXCLUDED.content_hash, "
                        "model = EXCLUDED.model, phenotypes = EXCLUDED.phenotypes, run_id = EXCLUDED.run_id, "
                        "extracted_at = now()",
                        (source, n["record_key"], case_key, n["content_hash"], extractor.version,
                         per_note.get(n["record_key"], 0), run_id))
            conn.commit()
            counts["cases"] += 1
            counts["notes"] += len(case_notes)
            counts["phenotypes"] += sum(1 for h, x in first if not x)
            counts["excluded"] += sum(1 for h, x in first if x)
    log.info("notes: %s", counts)
    return {**counts, "model": extractor.version if extractor is not None else None}


def _notes_extractor(serving: Any) -> Any:
    """The serving extractor's tagger and normalisers without its relation model: a note's phenotypes
    need no relations, and the relation pass would double the cost. Its version is the tagger's, so a
    new relation champion does not make every note be read again."""
    from medkb.nlp.extract import Extractor

    ex = Extractor(serving.tagger, serving.normaliser, phenotypes=serving.phenotypes, recall=serving.recall,
                   consistent=serving.consistent)
    ex.version = serving.tagger.version
    return ex


def finish(settings: Settings, run_id: str, counts: dict[str, Any]) -> dict[str, Any]:
    """Close the run; return the figures the cases Asset event carries (counts only)."""
    with connect(settings) as conn:
        changed = fetch_all(conn, "SELECT count(*) AS n FROM staged_cases WHERE run_id = %s", (run_id,))[0]["n"]
        total = fetch_all(conn, "SELECT count(*) AS n FROM staged_cases")[0]["n"]
    summary = {**_numbers(counts), "cases_changed": int(changed), "cases_total": int(total)}
    run_status.finish(settings, run_id, {**counts, "cases_changed": int(changed)})
    return summary


def _numbers(counts: dict[str, Any], prefix: str = "") -> dict[str, int | float]:
    out: dict[str, int | float] = {}
    for k, v in counts.items():
        if isinstance(v, dict):
            out.update(_numbers(v, f"{prefix}{k}_"))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[f"{prefix}{k}"] = v
    return out


STAGES = (begin, ingest_fhir, ingest_phenopackets, extract_notes, finish)
