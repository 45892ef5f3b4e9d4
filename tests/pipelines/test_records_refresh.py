"""The records refresh's note stage on real Postgres: phenotypes from the staged notes, read once
per note content and model, replaced as a whole when a note or the model changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from medkb.db.postgres import execute, fetch_all
from medkb.nlp.dictionary import DictionaryTagger
from medkb.nlp.extract import Extractor
from medkb.nlp.normalise import Normaliser
from medkb.nlp.vocab import Entry
from medkb.pipelines import records_refresh
from medkb.staging.clinical_records import ingest_fhir_paths

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).parents[1] / "fixtures" / "fhir"
GUMS = [Entry("gingivitis", "MESH:D005891", "Disease", "gold"), Entry("gingival disease", "MESH:D005882", "Disease", "gold")]
HPO = Normaliser([Entry("Gingivitis", "HP:0000230", "Phenotype", "hpo")])


class _NoRelations:
    version = "re-never-used"

    def assertions(self, *args, **kwargs):
        raise AssertionError("the note stage runs no relation model")


@pytest.fixture
def staged(pg, settings, tmp_path: Path, monkeypatch):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for p in FIXTURES.glob("*.json"):
        shutil.copy(p, inbox / p.name)
    ingest_fhir_paths(settings, [inbox], "run-fhir")
    built = []

    def small_extractor(_settings, _conn, precision="auto"):
        tagger = DictionaryTagger(GUMS)
        tagger.version = staged_version[0]  # what the note stage keys on (not the relation model)
        built.append(tagger.version)
        return Extractor(tagger, Normaliser(GUMS), phenotypes=HPO, relations=_NoRelations())

    staged_version = ["dictionary-test-1"]
    monkeypatch.setattr("medkb.pipelines.kb_extraction.serving_extractor", small_extractor)
    return pg, staged_version


def _rows(pg):
    pg.commit()
    return fetch_all(pg, "SELECT source, case_key, hpo_id, excluded, onset, evidence FROM case_phenotypes "
                         "ORDER BY case_key, hpo_id, excluded")


def test_note_phenotypes_land_once_and_follow_changes(staged, settings):
    pg, version = staged
    first = records_refresh.extract_notes(settings, "run-1")
    rows = _rows(pg)
    assert first["cases"] == 3 and first["notes"] == 6 and first["model"] == "dictionary-test-1"
    assert rows and {r["hpo_id"] for r in rows} == {"HP:0000230"} and not any(r["excluded"] for r in rows)
    assert all(r["evidence"].startswith("note ") and "gingiv" in r["evidence"].lower() and r["onset"] for r in rows)
    # a re-run reads nothing and changes nothing
    again = records_refresh.extract_notes(settings, "run-2")
    assert again["cases"] == 0 and _rows(pg) == rows
    # a changed note: only its case is read again, and its term is now excluded
    case_key = rows[0]["case_key"]
    notes = fetch_all(pg, "SELECT record_key, note_text FROM staged_clinical_records WHERE case_key = %s "
                          "AND resource_type = 'DocumentReference'", (case_key,))
    for n in notes:
        text = n["note_text"].replace("gingivitis", "no gingivitis").replace("gingival disease", "no gingival disease")
        execute(pg, "UPDATE staged_clinical_records SET note_text = %s, content_hash = md5(%s) WHERE record_key = %s",
                (text, text, n["record_key"]))
    pg.commit()
    changed = records_refresh.extract_notes(settings, "run-3")
    after = _rows(pg)
    assert changed["cases"] == 1 and changed["excluded"] == 1
    mine = [(r["hpo_id"], r["excluded"]) for r in after if r["case_key"] == case_key]
    assert mine == [("HP:0000230", True)]
    assert [r for r in after if r["case_key"] != case_key] == [r for r in rows if r["case_key"] != case_key]
    # a new serving model reads every case again, and the same text gives the same rows
    version[0] = "dictionary-test-2"
    remodel = records_refresh.extract_notes(settings, "run-4")
    assert remodel["cases"] == 3 and _rows(pg) == after


def test_no_notes_no_extractor(pg, settings, monkeypatch):
    monkeypatch.setattr("medkb.pipelines.kb_extraction.serving_extractor",
                        lambda *a, **k: pytest.fail("the extractor is built only when there are notes"))
    assert records_refresh.extract_notes(settings, "run-1") == {"cases": 0, "notes": 0, "phenotypes": 0, "excluded": 0}
