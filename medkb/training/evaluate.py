"""Strict entity-level scores on character spans, a confusion summary, and BioCreative V normalisation F1.

Strict: a predicted span counts only if its start, end and type all equal a gold span's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from medkb.nlp.windows import Span
from medkb.vocabulary import NER_TYPES

TYPES = NER_TYPES


def prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    """Precision, recall, F1 as percentages (0 when undefined), with the counts."""
    p = 100.0 * tp / n_pred if n_pred else 0.0
    r = 100.0 * tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"p": round(p, 2), "r": round(r, 2), "f1": round(f, 2), "tp": tp, "pred": n_pred, "gold": n_gold}


def span_scores(gold: Iterable[list[Span]], pred: Iterable[list[Span]]) -> dict[str, dict[str, float]]:
    """Per-type and micro strict P/R/F1 over documents (gold[i] and pred[i] belong to one document)."""
    tp: Counter = Counter()
    np_: Counter = Counter()
    ng: Counter = Counter()
    for g, p in zip(gold, pred, strict=True):
        gs = {(s.start, s.end, s.type) for s in g}
        ps = {(s.start, s.end, s.type) for s in p}
        for t in TYPES:
            gt = {x for x in gs if x[2] == t}
            pt = {x for x in ps if x[2] == t}
            tp[t] += len(gt & pt)
            np_[t] += len(pt)
            ng[t] += len(gt)
    out = {t: prf(tp[t], np_[t], ng[t]) for t in TYPES}
    out["micro"] = prf(sum(tp.values()), sum(np_.values()), sum(ng.values()))
    return out


def confusion(gold: Iterable[list[Span]], pred: Iterable[list[Span]]) -> dict[str, int]:
    """Count strict errors by kind: boundary (same type, overlapping), type (same span, other type),
    missed (no overlapping prediction), spurious (no overlapping gold)."""
    kinds: Counter = Counter()
    for g, p in zip(gold, pred, strict=True):
        gs = {(s.start, s.end, s.type) for s in g}
        ps = {(s.start, s.end, s.type) for s in p}
        for x in ps - gs:
            over = [y for y in gs if y[0] < x[1] and x[0] < y[1]]
            if not over:
                kinds["spurious"] += 1
            elif any(y[:2] == x[:2] for y in over):
                kinds["type"] += 1
            elif any(y[2] == x[2] for y in over):
                kinds["boundary"] += 1
            else:
                kinds["type"] += 1
        for y in gs - ps:
            if not any(x[0] < y[1] and y[0] < x[1] for x in ps):
                kinds["missed"] += 1
    return {k: kinds.get(k, 0) for k in ("boundary", "type", "missed", "spurious")}


def normalisation_scores(gold: Iterable[set[str]], pred: Iterable[set[str]]) -> dict[str, float]:
    """BioCreative V measure: per document, the set of concept ids against gold, micro-averaged."""
    tp = n_pred = n_gold = 0
    for g, p in zip(gold, pred, strict=True):
        tp += len(g & p)
        n_pred += len(p)
        n_gold += len(g)
    return prf(tp, n_pred, n_gold)


def relation_scores(gold: Iterable[set[tuple[str, str]]], pred: Iterable[set[tuple[str, str]]]) -> dict[str, float]:
    """Document-level CID pairs (chemical id, disease id), micro P/R/F1."""
    return normalisation_scores(gold, pred)  # same arithmetic over sets of pairs
