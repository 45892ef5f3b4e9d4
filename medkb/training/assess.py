"""Score a whole extraction pipeline on a gold corpus: NER, normalisation and CID relations.

What is scored is what the nightly stage deploys (abbreviation propagation included), so the
figures describe the product, not only the tagger.
"""

from __future__ import annotations

import time
from typing import Any

from medkb.nlp.extract import Extractor, SourceDoc
from medkb.nlp.vocab import curie
from medkb.nlp.windows import Span
from medkb.training.data import Example
from medkb.training.evaluate import confusion, normalisation_scores, relation_scores, span_scores
from medkb.vocabulary import NER_TYPES, doc_id


def to_source_docs(examples: list[Example]) -> list[SourceDoc]:
    """Gold examples as extraction input (title and abstract apart, so relations see the title)."""
    return [SourceDoc(doc_id(ex.key), ex.title, ex.text[len(ex.title) + 1 :], ex.source) for ex in examples]


def assess(extractor: Extractor, examples: list[Example], progress: Any = None) -> dict[str, Any]:
    """Strict NER P/R/F1 per type and micro, confusion, BioCreative V normalisation F1, CID F1, speed."""
    t0 = time.perf_counter()
    results = extractor.extract(to_source_docs(examples), progress=progress)
    seconds = time.perf_counter() - t0
    # only the types the corpus annotates are scored: NCBI Disease has no chemicals to miss or hit
    types = {m.type for ex in examples for m in ex.mentions} & set(NER_TYPES)
    pred = [[Span(m.start, m.end, m.type, m.score) for m in r.mentions if m.type in types] for r in results]
    gold = [ex.spans for ex in examples]
    scores: dict[str, Any] = span_scores(gold, pred)
    scores["confusion"] = confusion(gold, pred)
    gold_ids = [{curie(i) for m in ex.mentions for i in m.ids} for ex in examples]
    scores["normalisation"] = normalisation_scores(gold_ids, [{i for t, i in r.concepts if t in types} for r in results])
    scores["types"] = sorted(types)
    if any(ex.relations for ex in examples):
        gold_rel = [{(curie(a), curie(b)) for a, b in ex.relations} for ex in examples]
        pred_rel = [{(a.subject_id, a.object_id) for a in r.assertions} for r in results]
        scores["relations"] = relation_scores(gold_rel, pred_rel)
    scores["docs"] = len(examples)
    scores["seconds"] = round(seconds, 2)
    scores["docs_per_s"] = round(len(examples) / seconds, 2) if seconds else None
    scores["model"] = extractor.version
    return scores
