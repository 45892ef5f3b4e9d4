"""Staging FHIR bundles: cases and records, idempotent re-runs, quarantine, skipped files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from medkb.db.postgres import fetch_all
from medkb.sources.pseudonym import Pseudonymiser
from medkb.staging.clinical_records import ingest_fhir_paths
from medkb.staging.ingest import IngestFailed
from medkb.staging.runs import get_watermark

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).parents[1] / "fixtures" / "fhir"


def _inbox(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for p in sorted(FIXTURES.glob("*.json")):
        shutil.copy(p, inbox / p.name)
    return inbox


def test_bundles_become_cases_and_records(pg, settings, tmp_path: Path) -> None:
    inbox = _inbox(tmp_path)
    counts = ingest_fhir_paths(settings, [inbox], "run-1")
    assert counts["cases"] == 3 and counts["quarantined"] == 0 and counts["files"] == 3
    pg.commit()
    cases = fetch_all(pg, "SELECT case_key, birth_year, gender, state FROM staged_cases")
    assert len(cases) == 3 and all(len(c["case_key"]) == 32 and c["birth_year"] for c in cases)
    n = fetch_all(pg, "SELECT count(*) AS n, count(DISTINCT case_key) AS c FROM staged_clinical_records")[0]
    assert n["n"] == counts["staged"] > 100 and n["c"] == 3
    assert get_watermark(pg, "fhir") == Pseudonymiser(settings.pseudonym_key).file_label("patient3.json")
    # a second scan of the drop folder skips every file and changes nothing
    again = ingest_fhir_paths(settings, [inbox], "run-2")
    assert again["files_skipped"] == 3 and again["staged"] == 0
    # the same content under a new name is read again, and finds every row unchanged
    shutil.copy(inbox / "patient1.json", inbox / "patient1-resent.json")
    resent = ingest_fhir_paths(settings, [inbox / "patient1-resent.json"], "run-3")
    assert resent["staged"] == 0 and resent["updated"] == 0 and resent["unchanged"] > 0


def test_bad_resource_and_bad_file_are_quarantined_rest_lands(pg, settings, tmp_path: Path) -> None:
    inbox = _inbox(tmp_path)
    bundle = json.loads((inbox / "patient2.json").read_text())
    cond = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition")
    cond["subject"] = {"reference": "urn:uuid:not-in-this-bundle"}
    (inbox / "patient2.json").write_text(json.dumps(bundle))
    (inbox / "patient4.json").write_text('{"resourceType": "Bundle", "entry": [')  # truncated
    counts = ingest_fhir_paths(settings, [inbox], "run-1")
    assert counts["cases"] == 3 and counts["quarantined"] == 2 and counts["files_failed"] == 1
    pg.commit()
    q = fetch_all(pg, "SELECT source_key, stage, reasons, payload FROM quarantine ORDER BY source_key")
    by_kind = {r["payload"].get("resourceType", "file"): r for r in q}
    assert "dangling reference" in by_kind["Condition"]["reasons"][0]["message"]
    assert "not-in-this-bundle" not in json.dumps(q)  # references are hashed, even in the quarantine
    assert by_kind["file"]["source_key"] == Pseudonymiser(settings.pseudonym_key).file_label("patient4.json")
    assert "not valid JSON" in by_kind["file"]["reasons"][0]["message"]


def test_all_files_unreadable_fails_the_run(pg, settings, tmp_path: Path) -> None:
    bad = tmp_path / "empty.json"
    bad.write_text("")
    with pytest.raises(IngestFailed, match="none of the 1 bundle files"):
        ingest_fhir_paths(settings, [bad], "run-1")
