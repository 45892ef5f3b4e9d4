"""Sentence-level silver labels: only fully confident, linked sentences, written as PubTator the trainer reads."""

from __future__ import annotations

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
