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

from medkb.db.postgres import connect, fetch_all
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


STAGES = (begin, ingest_fhir, ingest_phenopackets, finish)
