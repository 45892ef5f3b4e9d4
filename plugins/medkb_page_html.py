"""The MedKB page's HTML: one self-contained document (inline CSS and SVG, no script, no outside
asset), rendered from `medkb.overview.Overview`. Pure functions over the record, so the markup is
tested without a server. Every value is HTML-escaped; figures carry `data-figure` names so tests
(and the browser test) find them without parsing prose.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from html import escape

from medkb.overview import Night, Overview

SERIES = (("documents", "Documents staged", "#2f6f8f"), ("mentions", "Mentions extracted", "#4f8f3f"),
          ("assertions", "Assertions extracted", "#8f6f2f"), ("quarantined", "Records quarantined", "#a33b3b"))

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 16px 24px; color: #1f2933;
       background: #ffffff; }
h1 { font-size: 1.4rem; margin: 0 0 4px; } h2 { font-size: 1.1rem; margin: 22px 0 8px; }
.sub { color: #52606d; font-size: .85rem; margin-bottom: 12px; }
table { border-collapse: collapse; font-size: .85rem; margin-bottom: 6px; }
th, td { border-bottom: 1px solid #d9e2ec; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f0f4f8; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #7b4b00; background: #fff8e1; border-left: 3px solid #f0b429; padding: 6px 10px; font-size: .85rem; }
.charts { display: grid; grid-template-columns: repeat(2, minmax(280px, 1fr)); gap: 12px 24px; max-width: 1100px; }
.chart h3 { font-size: .9rem; margin: 0 0 2px; font-weight: 600; }
.tiles { display: flex; gap: 12px; flex-wrap: wrap; }
.tile { border: 1px solid #d9e2ec; border-radius: 6px; padding: 8px 14px; min-width: 120px; }
.tile b { display: block; font-size: 1.3rem; }
code { font-size: .8rem; }
"""


def _cell(value: object, numeric: bool = False) -> str:
    text = "—" if value is None else (f"{value:,}" if isinstance(value, int) and numeric else str(value))
    return f'<td class="n">{escape(text)}</td>' if numeric else f"<td>{escape(text)}</td>"


def _when(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def _table(headers: Sequence[str], rows: Iterable[str], figure: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f'<table data-figure="{escape(figure)}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _note(overview: Overview, section: str) -> str:
    text = overview.notes.get(section)
    return f'<p class="note" data-note="{escape(section)}">{escape(text)}</p>' if text else ""


def bar_chart(nights: Sequence[Night], series: str, colour: str, width: int = 520, height: int = 110) -> str:
    """One inline SVG bar chart of one series over the nights, oldest left; each bar has a tooltip."""
    values = [int(getattr(n, series)) for n in nights]
    top = max(values, default=0)
    plot_h, base = height - 28, height - 16
    step = width / max(len(values), 1)
    bars = []
    for i, (night, v) in enumerate(zip(nights, values, strict=True)):
        h = max(1.0, plot_h * v / top) if v else 0.0
        x = i * step
        bars.append(
            f'<rect x="{x + 1:.1f}" y="{base - h:.1f}" width="{max(step - 2, 1):.1f}" height="{h:.1f}" '
            f'fill="{colour}" data-day="{night.day.isoformat()}" data-value="{v}">'
            f"<title>{night.day.isoformat()}: {v:,}</title></rect>"
        )
    first = nights[0].day.isoformat() if nights else ""
    last = nights[-1].day.isoformat() if nights else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'data-series="{series}" aria-label="{escape(series)} per night">'
        f'<line x1="0" y1="{base}" x2="{width}" y2="{base}" stroke="#9aa5b1" stroke-width="1"/>'
        f'{"".join(bars)}'
        f'<text x="0" y="10" font-size="10" fill="#52606d">max {top:,}</text>'
        f'<text x="0" y="{height - 2}" font-size="10" fill="#52606d">{first}</text>'
        f'<text x="{width}" y="{height - 2}" font-size="10" fill="#52606d" text-anchor="end">{last}</text>'
        "</svg>"
    )


def _summary(o: Overview) -> str:
    def tile(label: str, value: int | str | None, figure: str) -> str:
        shown = "—" if value is None else (f"{value:,}" if isinstance(value, int) else value)
        return f'<div class="tile">{escape(label)}<b data-figure="{figure}">{escape(shown)}</b></div>'

    nights = o.nights
    tiles = [
        tile(f"Documents, last {len(nights)} nights", sum(n.documents for n in nights), "documents_30"),
        tile(f"Mentions, last {len(nights)} nights", sum(n.mentions for n in nights), "mentions_30"),
        tile(f"Assertions, last {len(nights)} nights", sum(n.assertions for n in nights), "assertions_30"),
        tile("In quarantine now", o.quarantined_total, "quarantined_total"),
    ]
    if o.graph is not None:
        tiles += [tile("Graph documents", o.graph.documents, "graph_documents"),
                  tile("Graph assertions", o.graph.assertions, "graph_assertions")]
    return f'<div class="tiles">{"".join(tiles)}</div>'


def _sources(o: Overview) -> str:
    rows = [
        f'<tr data-source="{escape(s.source)}">{_cell(s.source)}{_cell(s.window)}{_cell(_when(s.updated_at))}'
        f"{_cell(s.run_id)}{_cell(s.run_status)}{_cell(s.documents, True)}</tr>"
        for s in o.sources
    ]
    body = _table(("Source", "Window / last file", "Refreshed", "Run", "Run status", "Staged documents"), rows,
                  "sources") if rows else ""
    return f"<h2>Last refresh per source</h2>{_note(o, 'sources')}{body}"


def _nights(o: Overview) -> str:
    if not o.nights:
        return "<h2>Per night</h2>" + _note(o, "postgres")
    charts = "".join(
        f'<div class="chart"><h3>{escape(label)}</h3>{bar_chart(o.nights, key, colour)}</div>'
        for key, label, colour in SERIES
    )
    rows = [
        f'<tr data-day="{n.day.isoformat()}">{_cell(n.day.isoformat())}{_cell(n.documents, True)}'
        f"{_cell(n.mentions, True)}{_cell(n.assertions, True)}{_cell(n.quarantined, True)}</tr>"
        for n in reversed(o.nights) if n.documents or n.mentions or n.assertions or n.quarantined
    ]
    table = _table(("Night (UTC)", "Documents", "Mentions", "Assertions", "Quarantined"), rows, "nights") \
        if rows else '<p class="note">nothing was added in these nights</p>'
    return (f"<h2>Per night, last {len(o.nights)} nights</h2><div class=\"charts\">{charts}</div>"
            f"<details open><summary>Nights with activity</summary>{table}</details>")


def _quarantine(o: Overview) -> str:
    rows = [
        f'<tr data-reason="{escape(q.reason)}">{_cell(q.reason)}{_cell(q.records, True)}'
        f"<td>{'<br>'.join(f'<code>{escape(k)}</code>' for k in q.examples)}</td></tr>"
        for q in o.quarantine
    ]
    body = _table(("Reason (failed check)", "Records", "Example keys"), rows, "quarantine") if rows else ""
    return (f"<h2>Quarantine by reason ({o.quarantined_total:,} records held)</h2>"
            f"{_note(o, 'quarantine')}{body}")


def _models(o: Overview) -> str:
    rows = []
    for c in o.champions:
        scores = ", ".join(f"{k} {v:.2f}" for k, v in sorted(c.scores.items()))
        rows.append(f'<tr data-kind="{escape(c.kind)}">{_cell(c.kind)}{_cell(c.version)}{_cell(_when(c.created))}'
                    f"{_cell(c.primary)}{_cell(scores or None)}</tr>")
    champs = _table(("Kind", "Champion", "Created", "Scored on", "Scores"), rows, "champions") if rows else ""
    drows = [
        f'<tr data-kind="{escape(d.kind)}">{_cell(d.kind)}{_cell(d.version)}{_cell(d.against)}{_cell(d.action)}'
        f"{_cell(_when(d.decided_at))}<td><ul>{''.join(f'<li>{escape(r)}</li>' for r in d.reasons)}</ul></td></tr>"
        for d in o.decisions
    ]
    decs = _table(("Kind", "Challenger", "Against", "Decision", "When", "Reasons"), drows, "decisions") \
        if drows else ""
    return (f"<h2>Champion models</h2>{_note(o, 'champions')}{champs}"
            f"<h2>Last promotion decision</h2>{_note(o, 'decisions')}{decs}")


def _diagnosis(o: Overview) -> str:
    d = o.diagnosis
    if d is None:
        return f"<h2>Last diagnosis run</h2>{_note(o, 'diagnosis')}"
    row = (f"<tr>{_cell(d.run_id)}{_cell(_when(d.finished_at))}{_cell(d.cases_evaluated, True)}"
           f"{_cell(d.results_changed, True)}</tr>")
    return ("<h2>Last diagnosis run</h2>"
            + _table(("Run", "Finished", "Cases re-evaluated", "Results changed"), [row], "diagnosis"))


def render_page(o: Overview) -> str:
    """The whole page: summary tiles, sources, nights (charts + table), quarantine, models, diagnosis."""
    graph = ""
    if o.graph is not None:
        graph = (f'<p class="sub">Graph: {o.graph.runs:,} runs recorded, last <code>'
                 f"{escape(o.graph.last_run or '—')}</code></p>")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>MedKB</title>'
        f"<style>{_CSS}</style></head><body>"
        f'<h1>MedKB knowledge base</h1><p class="sub">Read from the stores at {escape(_when(o.generated_at))} '
        "(read-only).</p>"
        f"{_note(o, 'postgres')}{_note(o, 'graph')}{_summary(o)}{graph}"
        f"{_sources(o)}{_nights(o)}{_quarantine(o)}{_models(o)}{_diagnosis(o)}"
        "</body></html>"
    )
