"""Sentence-level silver labels: only fully confident, linked sentences, written as PubTator the trainer reads."""

from __future__ import annotations

import pytest

from medkb.nlp.extract import DocExtraction, SourceDoc
from medkb.nlp.extracted import Mention
from medkb.training.data import load_corpus
from medkb.training.silver import select_silver, write_pubtator


def _m(doc: SourceDoc, text: str, typ: str, cid: str | None, score: float) -> Mention:
    start = doc.text.index(text)
    return Mention(doc.doc_id, start, start + len(text), text, typ, cid, score, "m1")


def test_only_confident_linked_sentences_become_silver(tmp_path):
    doc = SourceDoc("PMID:42", "Cocaine induced seizures.",
                    "Naloxone was given. Haloperidol caused dystonia in rats. Nothing here.")
    mentions = (
        _m(doc, "Cocaine", "Chemical", "MESH:D003042", 0.97),
        _m(doc, "seizures", "Disease", "MESH:D012640", 0.95),
        _m(doc, "Naloxone", "Chemical", None, 0.99),  # unlinked: its sentence is out
        _m(doc, "Haloperidol", "Chemical", "MESH:D006220", 0.93),
        _m(doc, "dystonia", "Disease", "MESH:D004421", 0.6),  # not confident: its sentence is out
    )
    from medkb.nlp.sentences import split_sentences

    extraction = DocExtraction(doc.doc_id, mentions, (), sentences=tuple(split_sentences(doc.text)))
    chosen = select_silver([doc], [extraction], min_score=0.9)
    assert [(s.key, s.text) for s in chosen] == [("42.0", "Cocaine induced seizures.")]
    path = write_pubtator(tmp_path / "silver.PubTator.txt", chosen)
    (ex,) = load_corpus(path)
    assert [(ex.text[m.start : m.end], m.type) for m in ex.mentions] == [("Cocaine", "Chemical"), ("seizures", "Disease")]


@pytest.mark.integration
def test_a_missing_silver_file_is_rebuilt_the_same_from_its_recipe(tmp_path, settings):
    """The recipe's teacher is the shipped release; two rebuilds give the same file byte for byte."""
    from medkb.training.silver import rebuild_silver

    recipe = {"teacher": "models/releases/ner-20261201-1", "medline": "pubmed21n1298.xml.gz",
              "abstracts": 12, "min_score": 0.9, "ratio": 0.5}
    a, b = tmp_path / "a.PubTator.txt", tmp_path / "b.PubTator.txt"
    first = rebuild_silver(recipe, 100_000, a, settings.data_dir)
    second = rebuild_silver(recipe, 100_000, b, settings.data_dir)
    assert first == second and first["candidates"] == 12 and first["silver_sentences"] > 0
    assert a.read_bytes() == b.read_bytes()
    assert all(m.ids and m.ids != ('-1',) for ex in load_corpus(a) for m in ex.mentions)
