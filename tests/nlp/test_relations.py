from __future__ import annotations

from medkb.nlp.relations import LinkedSpan, extract_relations


def _spans(text: str, chem: str, dis: str) -> list[LinkedSpan]:
    c, d = text.index(chem), text.index(dis)
    return [LinkedSpan(c, c + len(chem), "Chemical", ("MESH:C1",)), LinkedSpan(d, d + len(dis), "Disease", ("MESH:D1",))]


def test_trigger_sentence_gives_an_assertion_with_its_evidence():
    text = "A case report. Lithium induced nephrogenic diabetes insipidus in two patients."
    rels = extract_relations(text, [(0, 14), (15, len(text))], _spans(text, "Lithium", "diabetes insipidus"), 14)
    assert [(r.chemical_id, r.disease_id) for r in rels] == [("MESH:C1", "MESH:D1")]
    assert (rels[0].start, rels[0].end) == (15, len(text))


def test_treatment_cue_scores_lower_than_trigger():
    induce = "Cocaine caused seizures."
    treat = "Diazepam treats and prevents seizures."
    r1 = extract_relations(induce, [(0, len(induce))], _spans(induce, "Cocaine", "seizures"), 0, threshold=0)
    r2 = extract_relations(treat, [(0, len(treat))], _spans(treat, "Diazepam", "seizures"), 0, threshold=0)
    assert r1[0].score > r2[0].score


def test_pairs_in_different_sentences_are_not_related():
    text = "Cocaine was given. Seizures were seen."
    spans = _spans(text, "Cocaine", "Seizures")
    assert extract_relations(text, [(0, 18), (19, len(text))], spans, 0, threshold=0) == []
