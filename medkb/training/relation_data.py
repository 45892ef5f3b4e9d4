"""CID training and evaluation data: a PubTator corpus as candidates with gold entities, plus gold triples.

Every annotated mention is kept (nested and composite ones too: the NER examples drop overlaps, a
relation candidate must not), ids as CURIEs, sentences from the extractor's own splitter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from medkb.nlp.relation_candidates import DocCandidates, doc_candidates
from medkb.nlp.relations import LinkedSpan
from medkb.nlp.sentences import split_sentences
from medkb.nlp.vocab import curie
from medkb.sources.pubtator import read_pubtator
from medkb.training.data import TYPE_MAP
from medkb.vocabulary import doc_id


@dataclass(frozen=True)
class CidDoc:
    pmid: str
    title: str
    abstract: str
    cand: DocCandidates  # built from the gold mentions
    gold: frozenset[tuple[str, str]]  # (chemical CURIE, disease CURIE)

    def labels(self) -> list[float]:
        return [float((c.chemical_id, c.disease_id) in self.gold) for c in self.cand.candidates]


def load_cid(path: Path | str, limit: int = 0) -> list[CidDoc]:
    """The documents of a PubTator file with CID relations (first `limit` when > 0)."""
    out = []
    for doc in read_pubtator(path, source=Path(path).name):
        text = doc.text
        spans = [LinkedSpan(a.start, a.end, TYPE_MAP[a.type], tuple(curie(i) for i in a.ids))
                 for a in doc.annotations if TYPE_MAP.get(a.type) in ("Chemical", "Disease")]
        cand = doc_candidates(doc_id(doc.key), text, split_sentences(text), spans, len(doc.title))
        gold = frozenset((curie(r.subject), curie(r.object)) for r in doc.relations if r.type == "CID")
        out.append(CidDoc(doc.key, doc.title, doc.abstract, cand, gold))
        if limit and len(out) >= limit:
            break
    return out
