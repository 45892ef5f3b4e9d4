"""Phenopacket cases staged into Postgres and validated with their own suite (real Postgres)."""

from __future__ import annotations

import shutil

import pytest

from medkb.db.postgres import fetch_all
from medkb.staging.phenopackets import ingest_phenopacket_paths
from medkb.validation.phenopackets import validate_staged_phenopackets
from tests.sources.test_phenopacket import IDS, LINES

pytestmark = pytest.mark.integration


def test_cases_terms_and_quarantine(pg, settings, tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(LINES, drop / "cases.jsonl.gz")
    (drop / "PMID_3_1.jsonl.gz").write_bytes(b"\x1f\x8b truncated")  # an unreadable file: the rest goes on
    counts = ingest_phenopacket_paths(settings, [drop], "run-pp-1", IDS)
    assert (counts["staged"], counts["files_failed"]) == (4, 1)
    assert counts["quarantined"] == 3 and counts["terms_replaced"] == 1 and counts["terms_unknown"] == 1

    cases = fetch_all(pg, "SELECT * FROM staged_cases WHERE source = 'phenopacket' ORDER BY case_key")
    assert len(cases) == 4 and {c["diagnosis"] for c in cases} == {"OMIM:147791"}
    assert all(c["reference"] == "PMID:15266616" and len(c["case_key"]) == 32 for c in cases)
    terms = fetch_all(pg, "SELECT count(*) AS n, bool_or(excluded) AS ex, min(evidence) AS ev FROM case_phenotypes")
    assert terms[0]["n"] > 20 and terms[0]["ex"] and terms[0]["ev"] == "phenopacket"

    q = fetch_all(pg, "SELECT source_key, reasons, payload FROM quarantine WHERE source = 'phenopacket'")
    reasons = {r["reasons"][0]["expectation"] for r in q}
    assert reasons == {"diagnosis_present", "valid_json", "readable_file"}
    assert not any("PMID_15266616_1" in str(r["payload"]) or "PMID_3_1" in r["source_key"] for r in q)

    again = ingest_phenopacket_paths(settings, [drop / "cases.jsonl.gz"], "run-pp-2", IDS)
    assert again["files_skipped"] == 1 and again["staged"] == 0

    outcome = validate_staged_phenopackets(pg, "run-pp-1")
    assert (outcome.validated, outcome.quarantined) == (4, 0)
    assert {r["state"] for r in fetch_all(pg, "SELECT state FROM staged_cases")} == {"validated"}


def test_the_suite_quarantines_a_case_without_observed_terms(pg, settings, tmp_path):
    ingest_phenopacket_paths(settings, [LINES], "run-pp-3", IDS)
    victim = fetch_all(pg, "SELECT case_key FROM staged_cases ORDER BY case_key LIMIT 1")[0]["case_key"]
    with pg.cursor() as cur:  # a case whose observed terms were lost (e.g. a partial write)
        cur.execute("DELETE FROM case_phenotypes WHERE case_key = %s AND NOT excluded", (victim,))
        cur.execute("SELECT case_key FROM staged_cases ORDER BY case_key OFFSET 1 LIMIT 1")
        second = cur.fetchone()[0]
        cur.execute("UPDATE case_phenotypes SET hpo_id = 'HP:12' WHERE case_key = %s AND hpo_id = "
                    "(SELECT min(hpo_id) FROM case_phenotypes WHERE case_key = %s)", (second, second))
        assert cur.rowcount == 1
    outcome = validate_staged_phenopackets(pg, "run-pp-3", threshold=0.9)
    assert (outcome.quarantined, outcome.validated) == (2, 2)
    bad = fetch_all(pg, "SELECT reasons FROM quarantine WHERE source_key = %s AND stage = 'validate'", (second,))
    assert bad[0]["reasons"][0]["expectation"] == "hpo_id_format"
    entry = fetch_all(pg, "SELECT reasons FROM quarantine WHERE source_key = %s AND stage = 'validate'", (victim,))
    assert entry and entry[0]["reasons"][0]["expectation"] == "observed_terms_present"
    state = fetch_all(pg, "SELECT state FROM staged_cases WHERE case_key = %s", (victim,))[0]["state"]
    assert state == "quarantined"


def test_file_names_are_stored_and_logged_as_keyed_labels(pg, settings, tmp_path, caplog):
    """Phenopacket file names carry case ids (PMID_<pmid>_<n>, or a patient's name): like FHIR's, every
    place that names the file holds `Pseudonymiser.file_label` instead, and `find_file` finds it again."""
    import json
    import logging

    from medkb.sources.pseudonym import Pseudonymiser, find_file

    drop = tmp_path / "drop"
    drop.mkdir()
    names = ["Jane_Roe_PMID_15266616_1.jsonl.gz", "John_Doe_PMID_3_1.jsonl.gz", "Mary_Major_case.json"]
    shutil.copy(LINES, drop / names[0])
    (drop / names[1]).write_bytes(b"\x1f\x8b truncated")  # unreadable: a quarantine entry and an error log
    (drop / names[2]).write_text('{"id": "x"}')  # readable, rejected: no diagnosis
    with caplog.at_level(logging.DEBUG):
        counts = ingest_phenopacket_paths(settings, [drop], "run-pp-names", IDS)
    assert counts["files"] == 3 and counts["files_failed"] == 1

    p = Pseudonymiser(settings.pseudonym_key)
    labels = {p.file_label(n) for n in names}
    stored = {
        "ingested_files.name": [r["name"] for r in fetch_all(
            pg, "SELECT name FROM ingested_files WHERE source = 'phenopacket'")],
        "staged_cases.origin": [r["origin"] for r in fetch_all(
            pg, "SELECT origin FROM staged_cases WHERE source = 'phenopacket'")],
        "source_watermarks": [r["position"] for r in fetch_all(
            pg, "SELECT position FROM source_watermarks WHERE source = 'phenopacket'")],
        "quarantine.source_key": [r["source_key"] for r in fetch_all(
            pg, "SELECT source_key FROM quarantine WHERE source = 'phenopacket'")],
    }
    assert set(stored["ingested_files.name"]) == {p.file_label(names[0]), p.file_label(names[2])}
    assert set(stored["staged_cases.origin"]) == {p.file_label(names[0])}
    assert stored["source_watermarks"] and set(stored["source_watermarks"]) <= labels
    assert p.file_label(names[1]) in stored["quarantine.source_key"]
    quarantine_text = json.dumps(fetch_all(pg, "SELECT source_key, reasons, payload FROM quarantine "
                                               "WHERE source = 'phenopacket'"), default=str)
    assert p.file_label(names[1]) in quarantine_text and p.file_label(names[2]) in quarantine_text
    logs = "\n".join(r.getMessage() for r in caplog.records)
    assert p.file_label(names[1]) in logs  # the unreadable file is logged, by its label
    everything = json.dumps(stored) + quarantine_text + logs
    for n in names:
        for part in (n, n.split(".")[0], "Jane_Roe", "John_Doe", "Mary_Major", "PMID_3_1"):
            assert part not in everything, part
    for n in names:
        assert find_file(p, p.file_label(n), str(drop)) == [str(drop / n)]
