"""CID evaluation: P/R/F1 of (PMID, chemical id, disease id) triples, with the baselines in the same run.

Runs: the classifier on gold entities (split into intra- and cross-sentence pairs), end to end
(MedKB's own NER, ids and relations), and three baselines on gold entities: every co-occurring pair
of the document, every pair co-occurring in a sentence, and the cue-word scorer (nlp/relations.py).
Gold triples whose concepts are not both annotated still count as gold (recall is against all of them).
"""

from __future__ import annotations

import time
from typing import Any

from medkb.nlp.relation_candidates import MeshTree
from medkb.nlp.relation_classifier import RelationClassifier, kept
from medkb.nlp.relations import extract_relations
from medkb.training.evaluate import relation_scores
from medkb.training.relation_data import CidDoc

THRESHOLDS = tuple(round(0.05 + 0.025 * i, 3) for i in range(37))


def prf(gold: list[set], pred: list[set]) -> dict[str, float]:
    s = relation_scores(gold, pred)
    return {k: s[k] for k in ("p", "r", "f1", "tp", "pred", "gold")}


def split_scores(docs: list[CidDoc], pred: list[set[tuple[str, str]]]) -> dict[str, dict[str, float]]:
    """Intra- and cross-sentence scores: a gold or predicted pair is intra when its gold-entity
    candidate shares a sentence (gold pairs with no candidate count as cross)."""
    intra_of = [{(c.chemical_id, c.disease_id) for c in d.cand.candidates if c.intra} for d in docs]
    out = {}
    for name, want in (("intra", True), ("cross", False)):
        g = [{p for p in d.gold if (p in i) == want} for d, i in zip(docs, intra_of, strict=True)]
        q = [{p for p in ps if (p in i) == want} for ps, i in zip(pred, intra_of, strict=True)]
        out[name] = prf(g, q)
    return out


def score_gold_run(clf: RelationClassifier, docs: list[CidDoc], tree: MeshTree | None,
                   threshold: float | None = None, progress: Any = None, states: list | None = None) -> dict[str, Any]:
    """The classifier on gold entities; with no threshold, the best one on these documents is chosen.

    Also scored: the same threshold with BioCreative V's at-least-one-pair-per-document prior."""
    t0 = time.perf_counter()
    scored = clf.score([d.cand for d in docs], progress, states)
    seconds = time.perf_counter() - t0
    use_tree = tree if clf.hypernym_filter else None
    gold = [set(d.gold) for d in docs]

    def preds(thr: float, at_least_one: bool = False) -> list[set[tuple[str, str]]]:
        out = []
        for d, (probs, _, _) in zip(docs, scored, strict=True):
            cands = d.cand.candidates
            out.append({(cands[i].chemical_id, cands[i].disease_id) for i in kept(cands, probs, thr, use_tree, at_least_one)})
        return out

    thr = threshold if threshold is not None else max(THRESHOLDS, key=lambda t: (relation_scores(gold, preds(t))["f1"], -abs(t - 0.5)))
    pred = preds(thr)
    n_pairs = sum(len(d.cand.candidates) for d in docs)
    return {**prf(gold, pred), "threshold": thr, **split_scores(docs, pred),
            "at_least_one": prf(gold, preds(thr, True)), "docs": len(docs), "candidates": n_pairs,
            "seconds": round(seconds, 2)}


def baselines(docs: list[CidDoc]) -> dict[str, dict[str, float]]:
    """Every co-occurring pair in the document, in a sentence, and the cue-word scorer, on gold entities."""
    gold = [set(d.gold) for d in docs]
    doc_pairs = [{(c.chemical_id, c.disease_id) for c in d.cand.candidates} for d in docs]
    sent_pairs = [{(c.chemical_id, c.disease_id) for c in d.cand.candidates if c.intra} for d in docs]
    cue = [{(r.chemical_id, r.disease_id) for r in extract_relations(d.cand.text, list(d.cand.sentences),
                                                                      list(d.cand.mentions), d.cand.title_end)}
           for d in docs]
    return {"cooccurrence_doc": prf(gold, doc_pairs), "cooccurrence_sentence": prf(gold, sent_pairs), "cue_words": prf(gold, cue)}


class _Tee:
    """The model's relation step that also records the cue-word scorer's output on the same mentions,
    and each document's candidates (for the at-least-one variant)."""

    def __init__(self, model: Any) -> None:
        from medkb.nlp.relation_stage import CueWordRelations

        self.model, self.cue, self.version = model, CueWordRelations(), model.version
        self.cue_pairs: dict[str, set[tuple[str, str]]] = {}
        self.cands: dict[str, Any] = {}

    def assertions(self, doc_id: str, text: str, sentences: list, spans: list, title_end: int, model: str) -> tuple:
        from medkb.nlp.relation_candidates import doc_candidates

        self.cue_pairs[doc_id] = {(a.subject_id, a.object_id) for a in self.cue.assertions(doc_id, text, sentences, spans, title_end, model)}
        self.cands[doc_id] = doc_candidates(doc_id, text, sentences, spans, title_end)
        return self.model.assertions(doc_id, text, sentences, spans, title_end, model)


def end_to_end(extractor: Any, docs: list[CidDoc], progress: Any = None) -> dict[str, Any]:
    """MedKB's own NER, ids and relations (the extractor's relation step is teed to record the cue-word
    scorer on the same predicted mentions); with a model, also its at-least-one-pair-per-document variant."""
    from medkb.nlp.extract import SourceDoc

    tee = _Tee(extractor.relations)
    extractor.relations = tee
    try:
        t0 = time.perf_counter()
        results = extractor.extract([SourceDoc(d.cand.doc_id, d.title, d.abstract, "corpus") for d in docs], progress=progress)
        seconds = time.perf_counter() - t0
    finally:
        extractor.relations = tee.model
    gold = [set(d.gold) for d in docs]
    pred = [{(a.subject_id, a.object_id) for a in r.assertions} for r in results]
    cue = [tee.cue_pairs.get(r.doc_id, set()) for r in results]
    out = {"end_to_end": {**prf(gold, pred), "seconds": round(seconds, 2), "model": extractor.version},
           "cue_words_end_to_end": prf(gold, cue)}
    clf = getattr(tee.model, "classifier", None)
    if clf is not None:
        cands = [tee.cands.get(r.doc_id) for r in results]
        scored = iter(clf.predict([c for c in cands if c is not None], tee.model.tree, at_least_one=True))
        alo = [set() if c is None else {(p.chemical_id, p.disease_id) for p in next(scored)} for c in cands]
        out["end_to_end_at_least_one"] = prf(gold, alo)
    return out
