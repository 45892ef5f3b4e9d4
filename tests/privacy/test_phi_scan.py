"""No patient identifier in any store or log: a Synthea cohort goes through the records pipeline
(with bundles and records that fail), then every text/JSON column of every Postgres table, every
log file the run wrote, Airflow's task logs (if any) and the whole graph are searched for what
Synthea wrote about each patient. Zero hits; and the same scan over the raw bundles must hit.

Birth dates are searched as dates, also at the start of a timestamp, and in a case's own rows only
as that patient's (another patient's birthday is a common date: Synthea wrote one cohort member's as
another's visit date). Synthea dates some events at the instant of birth (a Condition with
onsetDateTime on the birthday): the reader generalises those to the birth year (payload dates to
"2019", `effective_at` to the year's first instant), so none of the cohort's clinical records, staged
or quarantined, carries its patient's birth date; the test counts the events at birth in the raw
bundles and asserts that none is left in Postgres.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from pathlib import Path

import pytest

from medkb.pipelines import records_refresh
from medkb.sources.fhir import CLINICAL
from medkb.sources.pseudonym import Pseudonymiser
from medkb.sources.sample_data import generate_patients
from tests.privacy.phi import (
    Matcher,
    Report,
    needles_from_bundles,
    scan_files,
    scan_graph,
    scan_postgres,
    scan_text,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N_PATIENTS = 6  # fixed seed and reference date (sample_data): the same cohort every time, cached


def _events_at_birth(path: Path) -> int:
    """Clinical resources of the bundle with a date or dateTime on the patient's birth date."""
    bundle = json.loads(path.read_text(encoding="utf-8"))
    birth = _patient(bundle)["birthDate"]
    return sum(1 for e in bundle["entry"] if e["resource"]["resourceType"] in CLINICAL
               and f'"{birth}' in json.dumps(e["resource"]))


def _patient(bundle: dict) -> dict:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")


def _broken_inputs(cohort: list[Path], inbox: Path) -> dict[str, int]:
    """Copies of the cohort plus inputs that fail, named the way Synthea names files."""
    for path in cohort:
        (inbox / path.name).write_bytes(path.read_bytes())
    first, second = cohort[0], cohort[1]
    bundle = json.loads(first.read_text(encoding="utf-8"))
    patient = _patient(bundle)
    # 1. the same patient re-sent with a Patient that does not parse, an address Observation and a
    #    Condition pointing at an encounter that is not in the bundle: all rejected by the reader
    broken_patient = {**copy.deepcopy(patient), "multipleBirthInteger": "twice"}
    address_obs = {
        "resourceType": "Observation", "id": "addr-1", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "56799-0", "display": "Address"}]},
        "subject": {"reference": f"urn:uuid:{patient['id']}"},
        "encounter": {"reference": "urn:uuid:not-in-this-bundle"},
        "valueString": ", ".join(patient["address"][0]["line"]) + ", " + patient["address"][0]["city"],
    }
    condition = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition")
    resent = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": f"urn:uuid:{patient['id']}", "resource": broken_patient},
        {"fullUrl": "urn:uuid:addr-1", "resource": address_obs},
        {"fullUrl": f"urn:uuid:{condition['id']}", "resource": condition},
    ]}
    (inbox / f"{first.stem}_resent.json").write_text(json.dumps(resent), encoding="utf-8")
    # 2. a truncated bundle (unreadable file)
    (inbox / f"{second.stem}_truncated.json").write_bytes(second.read_bytes()[:4000])
    # 3. one implausible body weight in a real bundle: quarantined by validation
    bundle = json.loads(second.read_text(encoding="utf-8"))
    weights = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
               and e["resource"]["code"]["coding"][0]["code"] == "29463-7"]
    weights[0]["valueQuantity"]["value"] = 5000
    (inbox / second.name).write_text(json.dumps(bundle), encoding="utf-8")
    return {"resent": 1, "truncated": 1, "bad_weight": 1}


@pytest.fixture
def run_log(tmp_path: Path):
    """Everything the pipeline logs, at DEBUG, into a file under a logs folder."""
    folder = tmp_path / "logs"
    folder.mkdir()
    handler = logging.FileHandler(folder / "records_refresh.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    old = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    yield folder
    root.removeHandler(handler)
    root.setLevel(old)
    handler.close()


def test_no_identifier_in_any_store_or_log(settings, pg, graph, tmp_path, run_log, capsys):
    cohort = generate_patients(settings.data_dir, N_PATIENTS, inbox=tmp_path / "cohort")
    pseudo = Pseudonymiser(settings.pseudonym_key)
    needles = needles_from_bundles(cohort, pseudo.token)
    assert {n.kind for n in needles} == {"name", "address", "telecom", "identifier", "birth_date"}
    matcher = Matcher(needles)

    # the scan can find something: the raw bundles are full of it
    raw = Report(needles=len(needles))
    scan_files([tmp_path / "cohort"], matcher, raw, "raw")
    found_kinds = {k for _, k, _ in raw.hits}
    assert found_kinds == {"name", "address", "telecom", "identifier", "birth_date"}, raw.summary()

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    broken = _broken_inputs(cohort, inbox)
    run_id = "phi-scan-1"
    records_refresh.begin(settings, run_id, {"inbox": "test"})
    counts = records_refresh.ingest_fhir(settings, run_id, drop_dir=str(inbox))
    counts["notes"] = records_refresh.extract_notes(settings, run_id)  # mentions quoted from the notes
    records_refresh.finish(settings, run_id, counts)
    assert counts["files_failed"] == broken["truncated"]
    assert counts["quarantined"] >= 3, counts  # the resent patient's resources and the unreadable file
    assert counts["record_validation"]["quarantined"] >= broken["bad_weight"], counts
    quarantined = pg.cursor()
    quarantined.execute("SELECT stage, count(*) FROM quarantine GROUP BY stage ORDER BY stage")
    stages = dict(quarantined.fetchall())
    assert stages.get("ingest", 0) >= 3 and stages.get("validate", 0) >= 1, stages

    report = Report(needles=len(needles))
    pg.rollback()
    scan_postgres(pg, matcher, report)
    scan_files([run_log], matcher, report, "logs")
    airflow_logs = Path(os.environ.get("AIRFLOW_HOME", "/nonexistent")) / "logs"
    scan_files([airflow_logs], matcher, report, "airflow-logs")
    scan_graph(graph, matcher, report)
    for line in json.dumps(counts, default=str).splitlines():
        scan_text(matcher, report, "run-counts", line)

    # events at birth: how many the raw bundles hold, how many generalised, how many left (none)
    births = {n.case_key: n.value for n in needles if n.kind == "birth_date"}
    at_birth_raw = sum(_events_at_birth(path) for path in cohort)
    cur = pg.cursor()
    generalised = left = 0
    for case_key, birth in births.items():
        cur.execute("SELECT count(*) FILTER (WHERE effective_at = make_timestamptz(%s, 1, 1, 0, 0, 0, 'UTC')), "
                    "count(*) FILTER (WHERE payload::text LIKE %s OR effective_at::text LIKE %s) "
                    "FROM staged_clinical_records WHERE case_key = %s",
                    (int(birth[:4]), f"%{birth}%", f"%{birth}%", case_key))
        g, n_left = cur.fetchone()
        generalised, left = generalised + g, left + n_left
    with capsys.disabled():
        print(f"\nPHI scan, raw bundles: {raw.summary()}")
        print(f"PHI scan, stores and logs: {report.summary()}")
        print("  searched: " + ", ".join(f"{w} {n}" for w, n in sorted(report.places.items())
                                         if not w.startswith(("logs:", "airflow-logs:"))))
        print(f"  log files: {sum(1 for w in report.places if w.startswith(('logs:', 'airflow-logs:')))}")
        print(f"  events at birth: {at_birth_raw} clinical resources in the raw bundles dated on their "
              f"patient's day of birth; {generalised} staged records at the birth year's first instant; "
              f"{left} staged records still carry the birth date")
    assert report.places.get("postgres:staged_clinical_records.payload", 0) > 1000
    assert any(w.startswith("logs:") for w in report.places)
    assert report.hits == [], "\n".join(f"{w} [{k}]: …{e}…" for w, k, e in report.hits[:40])
    assert at_birth_raw > 0 and generalised > 0, (at_birth_raw, generalised)  # the cohort does have such events
    assert left == 0
