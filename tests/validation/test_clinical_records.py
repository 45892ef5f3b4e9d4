"""The records suite on real staged bundles: impossible values and missing units are quarantined."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from medkb.db.postgres import fetch_all
from medkb.pipelines.kb_refresh import ingest_records
from medkb.validation.gx_runner import run_suite
from medkb.validation.suites import cases_suite, records_frame, records_suite

FIXTURES = Path(__file__).parents[1] / "fixtures" / "fhir"


def _frame(rows: list[dict]) -> pd.DataFrame:
    base = {"source": "fhir", "record_key": "k", "version": 1, "resource_type": "Observation",
            "code_system": "loinc", "code": "8867-4", "value": 70.0, "unit": "/min",
            "effective_at": "2020-01-01T00:00:00+00:00"}
    return records_frame(pd.DataFrame([{**base, "record_key": f"k{i}", **r} for i, r in enumerate(rows)]))


def test_records_suite_flags_each_kind_of_bad_fact() -> None:
    df = _frame([
        {},                                                    # fine
        {"value": 2000.0},                                     # impossible heart rate
        {"unit": None},                                        # a value without a unit
        {"unit": "kg"},                                        # a unit that does not fit the code
        {"effective_at": "1850-01-01T00:00:00+00:00"},         # before any living patient
        {"resource_type": "Condition", "code_system": "loinc", "code": None, "value": None, "unit": None},
        {"resource_type": "Patient"},
    ])
    result = run_suite("records", records_suite(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)), df)
    got = {name: sorted(idx) for name, idx in result.per_check.items()}
    assert got == {"range_heart_rate": [1], "unit_present": [2], "unit_known": [3], "effective_time": [4],
                   "code_present": [5], "code_system": [5, 6], "resource_type": [6]}
    assert 0 not in result.failures and not result.errors


def test_cases_suite() -> None:
    df = pd.DataFrame([
        {"case_key": "0" * 32, "gender": "female", "birth_year": 1970},
        {"case_key": "Jane Doe", "gender": "female", "birth_year": 1970},
        {"case_key": "1" * 32, "gender": "F", "birth_year": 1700},
    ])
    got = run_suite("cases", cases_suite(dt.date(2026, 1, 1)), df).per_check
    assert got == {"case_key_format": [1], "gender": [2], "birth_year": [2]}


@pytest.mark.integration
def test_ingest_records_quarantines_bad_facts_and_validates_the_rest(pg, settings, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for p in FIXTURES.glob("*.json"):
        shutil.copy(p, inbox / p.name)
    bundle = json.loads((inbox / "patient1.json").read_text())
    obs = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
           and "valueQuantity" in e["resource"]]
    obs[0]["valueQuantity"] = {"value": 2000, "unit": "/min", "code": "/min", "system": "http://unitsofmeasure.org"}
    obs[0]["code"] = {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]}
    obs[1]["valueQuantity"] = {"value": 5.5}  # a value with no unit
    (inbox / "patient1.json").write_text(json.dumps(bundle))
    out = ingest_records(settings, "run-1", drop_dir=str(inbox))
    assert out["cases"] == 3 and out["validation"]["quarantined"] == 2
    assert out["case_validation"] == {"checked": 3, "validated": 3, "quarantined": 0, "warned": 0}
    assert out["validation"]["validated"] == out["validation"]["checked"] - 2
    pg.commit()
    q = fetch_all(pg, "SELECT reasons FROM quarantine WHERE stage = 'validate'")
    failed = sorted(r["reasons"][0]["expectation"] for r in q)
    assert failed == ["range_heart_rate", "unit_present"]
    assert any(r["reasons"][0]["observed"] == 2000 for r in q)
    # a second night: nothing new to stage or check
    again = ingest_records(settings, "run-2", drop_dir=str(inbox))
    assert again["files_skipped"] == 3 and again["validation"]["checked"] == 0
