"""The FHIR reader: cases and records from real Synthea bundles, pseudonymised before they leave it."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from medkb.errors import SourceFileError
from medkb.sources.clinical_records import ClinicalRecord, PatientCase
from medkb.sources.fhir import read_fhir_bundle
from medkb.sources.pseudonym import MASK, Pseudonymiser, PseudonymKeyMissing, generalise_time
from medkb.sources.rejected import Rejected

FIXTURES = Path(__file__).parents[1] / "fixtures" / "fhir"
BUNDLE = FIXTURES / "patient1.json"


def _identifiers(bundle: dict) -> list[str]:
    """Every direct identifier of the bundle's patient: names, address lines, phone, ids, birth date."""
    pat = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    out = [pat["id"], pat["birthDate"]]
    for n in pat.get("name", []):
        out += [n["family"], *n.get("given", [])]
    for a in pat.get("address", []):
        out += a.get("line", [])
    out += [t["value"] for t in pat.get("telecom", [])] + [i["value"] for i in pat.get("identifier", [])]
    return out


def test_a_case_and_its_records() -> None:
    recs = list(read_fhir_bundle(BUNDLE, Pseudonymiser("k1")))
    cases = [r for r in recs if isinstance(r, PatientCase)]
    records = [r for r in recs if isinstance(r, ClinicalRecord)]
    assert len(cases) == 1 and not [r for r in recs if isinstance(r, Rejected)]
    assert {r.case_key for r in records} == {cases[0].key}
    kinds = {r.resource_type for r in records}
    assert {"Condition", "Observation", "Encounter", "DocumentReference", "Procedure"} <= kinds
    systems = {(r.resource_type, r.code_system) for r in records}
    assert ("Condition", "snomed") in systems and ("Observation", "loinc") in systems
    bp = [r for r in records if r.code in ("8480-6", "8462-4")]
    assert bp and all(r.value is not None and r.unit == "mm[Hg]" and r.effective_at for r in bp)
    notes = [r for r in records if r.resource_type == "DocumentReference"]
    assert notes and all(r.note_text and "# Chief Complaint" in r.note_text for r in notes)


def test_nothing_identifying_leaves_the_reader() -> None:
    bundle = json.loads(BUNDLE.read_text())
    recs = list(read_fhir_bundle(BUNDLE, Pseudonymiser("k1")))
    stored = json.dumps([r.__dict__ for r in recs], default=str)
    leaked = [x for x in _identifiers(bundle) if x in stored]
    assert leaked == []
    case = next(r for r in recs if isinstance(r, PatientCase))
    pat = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    assert case.birth_year == int(pat["birthDate"][:4])
    assert any(MASK in (r.note_text or "") for r in recs if isinstance(r, ClinicalRecord))


def test_pseudonyms_are_keyed_and_stable() -> None:
    a1 = next(r for r in read_fhir_bundle(BUNDLE, Pseudonymiser("k1")) if isinstance(r, PatientCase))
    a2 = next(r for r in read_fhir_bundle(BUNDLE, Pseudonymiser("k1")) if isinstance(r, PatientCase))
    b = next(r for r in read_fhir_bundle(BUNDLE, Pseudonymiser("k2")) if isinstance(r, PatientCase))
    assert a1.key == a2.key != b.key
    with pytest.raises(PseudonymKeyMissing, match="MEDKB_PSEUDONYM_KEY"):
        Pseudonymiser("")


def test_dangling_reference_rejects_that_resource_only(tmp_path: Path) -> None:
    bundle = json.loads(BUNDLE.read_text())
    obs = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition")
    obs["encounter"] = {"reference": "urn:uuid:00000000-0000-0000-0000-000000000000"}
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle))
    recs = list(read_fhir_bundle(path, Pseudonymiser("k1")))
    rejected = [r for r in recs if isinstance(r, Rejected)]
    label = Pseudonymiser("k1").file_label("b.json")  # file names are stored as keyed labels, never as they are
    assert len(rejected) == 1 and "dangling reference" in rejected[0].reason and label in rejected[0].reason
    assert "b.json" not in rejected[0].reason and rejected[0].origin == label
    assert rejected[0].check == "resolvable_reference"
    assert rejected[0].payload["resourceType"] == "Condition"
    ok = [r for r in recs if isinstance(r, ClinicalRecord)]
    assert len(ok) == len(list(read_fhir_bundle(BUNDLE, Pseudonymiser("k1")))) - 2  # minus the case and it


def test_resource_that_does_not_parse_is_rejected(tmp_path: Path) -> None:
    bundle = json.loads(BUNDLE.read_text())
    proc = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Procedure")
    del proc["status"]
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle))
    rejected = [r for r in read_fhir_bundle(path, Pseudonymiser("k1")) if isinstance(r, Rejected)]
    assert len(rejected) == 1 and "does not parse as FHIR R4: status" in rejected[0].reason


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", "empty file"), (b'{"resourceType": "Bundle", "entry": [', "not valid JSON"),
     (b'{"resourceType": "Patient"}', "not a FHIR Bundle"), (b'{"a": "\xff"}', "invalid UTF-8")],
    ids=["empty", "truncated", "not-a-bundle", "invalid-utf8"],
)
def test_unreadable_bundle_files(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(content)
    with pytest.raises(SourceFileError, match=f"^file-[0-9a-f]{{20}}: {expected}"):
        list(read_fhir_bundle(path, Pseudonymiser("k1")))


def _dated_at_birth(tmp_path: Path, dangling: bool = False) -> tuple[dict, str, str, Path]:
    """patient1 with its first Condition (and an Observation) dated at the instant of birth, the way
    Synthea dates conditions present from birth; `dangling`: that Condition is rejected as well."""
    bundle = json.loads(BUNDLE.read_text())
    birth = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")["birthDate"]
    at_birth = f"{birth}T10:22:00-05:00"
    conditions = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition"]
    first = conditions[0]
    first.update(onsetDateTime=at_birth, recordedDate=at_birth)
    if dangling:
        first["encounter"] = {"reference": "urn:uuid:00000000-0000-0000-0000-000000000000"}
    obs = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation")
    obs.update(effectiveDateTime=at_birth, issued=f"{birth}T10:22:00.123-05:00")
    path = tmp_path / "at_birth.json"
    path.write_text(json.dumps(bundle))
    return bundle, birth, conditions[1]["onsetDateTime"], path


def test_events_at_birth_keep_the_birth_year_only(tmp_path: Path) -> None:
    bundle, birth, later, path = _dated_at_birth(tmp_path)
    recs = list(read_fhir_bundle(path, Pseudonymiser("k1")))
    records = [r for r in recs if isinstance(r, ClinicalRecord)]
    assert not [r for r in recs if isinstance(r, Rejected)]
    assert birth not in json.dumps([r.__dict__ for r in recs], default=str)  # payloads, times, notes
    by_key = {r.key: r for r in records}
    ids = [e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition"][:2]
    first, second = (by_key[Pseudonymiser("k1").token(f"Condition/{i}", "resource")] for i in ids)
    year = birth[:4]
    assert first.payload["onsetDateTime"] == first.payload["recordedDate"] == year  # a valid partial dateTime
    assert first.effective_at == f"{year}-01-01T00:00:00+00:00"
    obs = [r for r in records if r.resource_type == "Observation" and r.payload.get("effectiveDateTime") == year]
    assert obs and all("issued" not in r.payload and r.effective_at == first.effective_at for r in obs)
    # a later event is untouched, and the event at birth still comes before everything else
    assert second.payload["onsetDateTime"] == later and second.effective_at.startswith(later[:10])
    at = datetime.fromisoformat
    assert all(at(first.effective_at) <= at(r.effective_at) for r in records if r.effective_at)


def test_rejected_resources_at_birth_are_scrubbed_the_same_way(tmp_path: Path) -> None:
    _, birth, _, path = _dated_at_birth(tmp_path, dangling=True)
    rejected = [r for r in read_fhir_bundle(path, Pseudonymiser("k1")) if isinstance(r, Rejected)]
    assert len(rejected) == 1 and rejected[0].payload["onsetDateTime"] == birth[:4]
    assert birth not in json.dumps(rejected[0].__dict__, default=str)


def test_record_times_on_the_day_of_birth() -> None:
    assert generalise_time("2019-03-04T10:22:00-05:00", "2019-03-04") == "2019-01-01T00:00:00+00:00"
    assert generalise_time("2019-03-03T21:30:00-05:00", "2019-03-04") == "2019-01-01T00:00:00+00:00"  # UTC day
    assert generalise_time("2019-03-05T08:00:00+00:00", "2019-03-04") == "2019-03-05T08:00:00+00:00"
    assert generalise_time("2019-01-01T03:00:00+00:00", "2019-01-01") is None  # 1 January: no safe instant
    assert generalise_time("2019-03-04T10:22:00-05:00", "2019") == "2019-03-04T10:22:00-05:00"  # no full date
