"""Candidates for the CID classifier: every concept pair, composites split, intra/cross, hypernyms."""

from __future__ import annotations

from medkb.nlp.relation_candidates import MeshTree, doc_candidates, hypernym_negatives
from medkb.nlp.relations import LinkedSpan

TEXT = "Cocaine induced seizures. Later, hypotension was seen."
SENTS = [(0, 25), (26, 54)]


def spans(*rows: tuple[int, int, str, tuple[str, ...]]) -> list[LinkedSpan]:
    return [LinkedSpan(s, e, t, ids) for s, e, t, ids in rows]


def test_every_pair_with_its_sentences_and_cross_sentence_pairs():
    dc = doc_candidates("PMID:1", TEXT, SENTS, spans((0, 7, "Chemical", ("MESH:C1",)), (16, 24, "Disease", ("MESH:D1",)),
                                                    (33, 44, "Disease", ("MESH:D2",))), title_end=25)
    by = {(c.chemical_id, c.disease_id): c for c in dc.candidates}
    assert set(by) == {("MESH:C1", "MESH:D1"), ("MESH:C1", "MESH:D2")}
    assert by["MESH:C1", "MESH:D1"].intra and by["MESH:C1", "MESH:D1"].sentences == (0,)
    assert not by["MESH:C1", "MESH:D2"].intra and by["MESH:C1", "MESH:D2"].distance == 1
    assert dc.features(by["MESH:C1", "MESH:D1"])[0] == 1.0 and dc.features(by["MESH:C1", "MESH:D2"])[0] == 0.0


def test_a_composite_mention_counts_for_each_of_its_ids():
    dc = doc_candidates("PMID:1", TEXT, SENTS, spans((0, 7, "Chemical", ("MESH:C1",)), (16, 24, "Disease", ("MESH:D1", "MESH:D3"))))
    assert {(c.chemical_id, c.disease_id) for c in dc.candidates} == {("MESH:C1", "MESH:D1"), ("MESH:C1", "MESH:D3")}
    assert all(c.disease_mentions == (1,) for c in dc.candidates)


def test_no_chemical_or_no_disease_or_no_id_gives_no_candidates_and_no_error():
    assert doc_candidates("PMID:1", TEXT, SENTS, spans((16, 24, "Disease", ("MESH:D1",)))).candidates == ()
    assert doc_candidates("PMID:1", TEXT, SENTS, spans((0, 7, "Chemical", ("MESH:C1",)))).candidates == ()
    assert doc_candidates("PMID:1", TEXT, SENTS, spans((0, 7, "Chemical", ()), (16, 24, "Disease", ("MESH:D1",)))).candidates == ()
    assert doc_candidates("PMID:1", "", [], []).candidates == ()


def test_hypernym_negatives_follow_the_mesh_tree():
    tree = MeshTree({"MESH:D_cardio": ("C14",), "MESH:D_arrhythmia": ("C14.280.067",), "MESH:D_heart": ("C14.280",),
                     "MESH:D_other": ("C10",)})
    assert tree.ancestors("MESH:D_arrhythmia") == {"MESH:D_cardio", "MESH:D_heart"}
    pairs = [("C", "MESH:D_cardio"), ("C", "MESH:D_heart"), ("C", "MESH:D_other"), ("X", "MESH:D_heart")]
    assert hypernym_negatives(pairs, {("C", "MESH:D_arrhythmia")}, tree) == {("C", "MESH:D_cardio"), ("C", "MESH:D_heart")}
