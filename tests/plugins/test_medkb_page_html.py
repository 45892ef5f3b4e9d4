"""The page's markup: every section renders from an Overview record, values are escaped, the
chart has one bar per night with its value, and empty sections show their note."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugins"))  # as Airflow does

from medkb_page_html import bar_chart, render_page  # noqa: E402

from medkb.overview import (  # noqa: E402
    Champion,
    DiagnosisRun,
    GraphTotals,
    Night,
    Overview,
    PromotionDecision,
    QuarantineReason,
    SourceRefresh,
)

DAY = dt.date(2026, 11, 30)
WHEN = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)


def nights(values: list[int]) -> tuple[Night, ...]:
    first = DAY - dt.timedelta(days=len(values) - 1)
    return tuple(Night(first + dt.timedelta(days=i), v, 2 * v, v // 2, 1 if v else 0) for i, v in enumerate(values))


def full() -> Overview:
    return Overview(
        generated_at=WHEN,
        sources=(SourceRefresh("pubmed", "2026-11-29..2026-11-30|edat|", "scheduled__x", WHEN, "succeeded", 1234),),
        nights=nights([0] * 27 + [5, 0, 40]),
        quarantine=(QuarantineReason("expect_column_values_to_not_be_null", 7, ("medline:1", "medline:<b>2</b>")),),
        quarantined_total=7,
        champions=(Champion("ner", "ner-20261201-1", WHEN, "CDR_DevelopmentSet", {"f1": 88.4, "precision": 87.0}),),
        decisions=(PromotionDecision("ner", "ner-20261201-2", "ner-20261201-1", "reject",
                                     ("micro F1 88.10 vs champion 88.40: gain -0.30",), WHEN),),
        diagnosis=DiagnosisRun("diag-1", WHEN, 12, 3),
        graph=GraphTotals(1500, 900, 4, "scheduled__x"),
    )


def figure(html: str, name: str) -> str:
    m = re.search(rf'data-figure="{name}">([^<]*)<', html)
    assert m, f"no figure {name}"
    return m.group(1)


def test_the_full_page_shows_every_section_and_figure() -> None:
    html = render_page(full())
    assert figure(html, "documents_30") == "45" and figure(html, "mentions_30") == "90"
    assert figure(html, "quarantined_total") == "7" and figure(html, "graph_documents") == "1,500"
    for text in ("2026-11-29..2026-11-30|edat|", "1,234", "expect_column_values_to_not_be_null", "ner-20261201-1",
                 "f1 88.40", "reject", "gain -0.30", "diag-1", "Cases re-evaluated"):
        assert text in html, text
    assert "<b>2</b>" not in html and "medline:&lt;b&gt;2&lt;/b&gt;" in html  # values are escaped
    assert html.count("<svg") == 4 and "<script" not in html
    assert 'data-note=' not in html


def test_the_chart_has_one_bar_per_night_scaled_to_the_largest() -> None:
    svg = bar_chart(nights([0, 10, 5]), "documents", "#000", height=110)
    bars = re.findall(r'<rect [^>]*height="([\d.]+)"[^>]*data-day="([\d-]+)" data-value="(\d+)"', svg)
    assert [(day, int(v)) for _, day, v in bars] == [("2026-11-28", 0), ("2026-11-29", 10), ("2026-11-30", 5)]
    heights = [float(h) for h, _, _ in bars]
    assert heights[0] == 0 and heights[1] == 2 * heights[2] > 0


def test_empty_sections_show_why() -> None:
    empty = Overview(WHEN, (), nights([0] * 30), (), 0, (), (), None, None,
                     {"sources": "no source has been refreshed yet", "diagnosis": "no diagnosis run recorded yet",
                      "graph": "the graph could not be read"})
    html = render_page(empty)
    for section in ("sources", "diagnosis", "graph"):
        assert f'data-note="{section}"' in html
    assert "nothing was added in these nights" in html
    assert 'data-figure="graph_documents"' not in html
