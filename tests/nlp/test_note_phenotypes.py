"""Phenotypes from note text: linked mentions, negation, offsets into the note."""

from __future__ import annotations

from medkb.nlp.dictionary import DictionaryTagger
from medkb.nlp.extract import Extractor
from medkb.nlp.normalise import Normaliser
from medkb.nlp.note_phenotypes import negated, note_phenotypes
from medkb.nlp.vocab import Entry

DISEASES = [Entry("fever", "MESH:D005334", "Disease", "gold"), Entry("seizure", "MESH:D012640", "Disease", "gold"),
            Entry("gingivitis", "MESH:D005891", "Disease", "gold")]
HPO = Normaliser([Entry("Fever", "HP:0001945", "Phenotype", "hpo"), Entry("Seizure", "HP:0001250", "Phenotype", "hpo")])


def extractor() -> Extractor:
    return Extractor(DictionaryTagger(DISEASES), Normaliser(DISEASES), phenotypes=HPO)


def test_observed_and_negated_mentions_with_offsets_into_the_note():
    text = "# Chief Complaint\n- Fever.\n\nPatient denies seizure; fever since Monday. No gingivitis."
    found = note_phenotypes(extractor(), [("note-1", text)])
    got = [(p.hpo_id, p.excluded, text[p.start : p.end]) for p in found]
    assert got == [("HP:0001945", False, "Fever"), ("HP:0001250", True, "seizure"), ("HP:0001945", False, "fever")]
    assert {p.record_key for p in found} == {"note-1"}  # gingivitis has no HPO link here: not a phenotype


def test_negation_reaches_within_its_clause_only():
    s = "No history of seizure"
    assert negated(s, 0, s.index("seizure"))
    t = "Seizure-free, but not without fever"
    assert not negated(t, 0, t.index("Seizure"))
    u = "The patient was negative for infection; seizure reported"
    assert not negated(u, 0, u.index("seizure"))


def test_notes_without_phenotypes_give_nothing():
    assert note_phenotypes(extractor(), [("n", "Patient comes from a middle socioeconomic background.")]) == []
    assert note_phenotypes(extractor(), []) == []
