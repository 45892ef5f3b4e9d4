from __future__ import annotations

from medkb.nlp.windows import Span
from medkb.training.evaluate import confusion, normalisation_scores, prf, span_scores


def test_strict_scores_need_exact_boundaries_and_type():
    gold = [[Span(0, 7, "Chemical"), Span(20, 28, "Disease"), Span(40, 45, "Disease")]]
    pred = [[Span(0, 7, "Chemical"), Span(20, 30, "Disease"), Span(50, 55, "Chemical")]]
    s = span_scores(gold, pred)
    assert s["Chemical"]["tp"] == 1 and s["Chemical"]["pred"] == 2 and s["Chemical"]["f1"] == 66.67
    assert s["Disease"]["tp"] == 0 and s["Disease"]["gold"] == 2
    assert s["micro"]["p"] == round(100 / 3, 2) and s["micro"]["r"] == round(100 / 3, 2)


def test_confusion_kinds():
    gold = [[Span(0, 7, "Chemical"), Span(20, 28, "Disease"), Span(40, 45, "Disease"), Span(60, 65, "Disease")]]
    pred = [[Span(0, 7, "Chemical"), Span(20, 30, "Disease"), Span(40, 45, "Chemical"), Span(80, 85, "Disease")]]
    assert confusion(gold, pred) == {"boundary": 1, "type": 1, "missed": 1, "spurious": 1}


def test_prf_handles_empty_sets():
    assert prf(0, 0, 0)["f1"] == 0.0
    assert prf(3, 4, 6) == {"p": 75.0, "r": 50.0, "f1": 60.0, "tp": 3, "pred": 4, "gold": 6}


def test_normalisation_is_per_document_sets():
    gold = [{"MESH:D1", "MESH:D2"}, {"MESH:D1"}]
    pred = [{"MESH:D1"}, {"MESH:D1", "MESH:D3"}]
    s = normalisation_scores(gold, pred)
    assert (s["tp"], s["pred"], s["gold"]) == (2, 3, 3)
