from __future__ import annotations

from medkb.training.data import load_corpus
from medkb.training.lexicon import DEV_FILES, TRAIN_FILES, gold_entries


def test_ncbi_classes_map_to_disease():
    docs = load_corpus(DEV_FILES[1])
    types = {m.type for d in docs for m in d.mentions}
    assert types == {"Disease"}
    assert sum(len(d.mentions) for d in docs) > 700


def test_bc5cdr_examples_keep_spans_relations_and_title():
    docs = load_corpus(TRAIN_FILES[0])
    assert len(docs) == 500
    for d in docs[:50]:
        assert d.text.startswith(d.title + " ")
        for m in d.mentions:
            assert d.text[m.start : m.end] == m.text
        ends = [m.end for m in d.mentions]
        starts = [m.start for m in d.mentions]
        assert all(e <= s for e, s in zip(ends, starts[1:], strict=False)), "overlaps are dropped"
    assert any(d.relations for d in docs)


def test_gold_entries_are_curies():
    entries = gold_entries(load_corpus(TRAIN_FILES[0])[:20])
    assert entries and all(e.concept_id.startswith("MESH:") for e in entries)
