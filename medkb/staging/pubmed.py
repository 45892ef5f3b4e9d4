"""Stage a PubMed date window from E-utilities, one transaction per efetch page.

Two positions are kept in `source_watermarks`: `pubmed` is the last date window staged in full
(it moves only in the transaction that commits the window's last page), and `pubmed:cursor` is
how far the current window got (WebEnv, query key, next retstart), committed with each page. A
run that fails part-way leaves `pubmed` where it was; the next run for the same window resumes
at the cursor instead of starting over.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
from collections.abc import Callable
from typing import Any

from medkb.db.postgres import connect, execute
from medkb.settings import Settings
from medkb.sources.pubmed import SOURCE, EutilsClient, EutilsConfig, HistoryExpired, Page, SearchResult
from medkb.staging.documents import StageCounts
from medkb.staging.ingest import add_counts, stage_records
from medkb.staging.runs import get_watermark, set_watermark

log = logging.getLogger(__name__)
CURSOR = f"{SOURCE}:cursor"


def window_id(start: dt.date, end: dt.date, date_type: str, term: str) -> str:
    return f"{start.isoformat()}..{end.isoformat()} {date_type}" + (f" {term}" if term else "")


def ingest_pubmed_window(
    settings: Settings, start: dt.date, end: dt.date, run_id: str, term: str = "", date_type: str = "edat",
    base_url: str | None = None, progress: Callable[[int], None] | None = None,
    client: EutilsClient | None = None,
) -> dict[str, Any]:
    """Stage every citation PubMed has for the window; resumes an interrupted run of the same window."""
    if end < start:
        raise ValueError(f"pubmed window {start}..{end}: --to is before --from")
    client = client or EutilsClient(EutilsConfig.from_env(base_url))
    wid = window_id(start, end, date_type, term)
    with connect(settings) as conn:
        cursor = _cursor(conn)
    first: Page | None = None
    if cursor and cursor.get("window") == wid:
        search = SearchResult(cursor["count"], cursor["webenv"], cursor["query_key"], cursor["search"])
        start_at = int(cursor["next"])
        log.info("pubmed %s: resuming at %d of %d", wid, start_at, search.count)
        try:
            first = client.efetch(search, start_at)
        except HistoryExpired as exc:
            # a new search has a new result set: start the window over (staging again changes nothing)
            log.warning("pubmed %s: %s; searching again from the start of the window", wid, exc)
            search, start_at = client.esearch(start, end, term, date_type), 0
    else:
        search = client.esearch(start, end, term, date_type)
        start_at = 0
        log.info("pubmed %s: %d citations", wid, search.count)
    total = StageCounts()
    pages = 0
    if search.count == 0:
        with connect(settings) as conn:
            _finish_window(conn, wid, run_id)
    rest = client.pages(search, start_at + client.config.batch_size if first else start_at)
    for page in itertools.chain([first] if first else [], rest):
        nxt = page.retstart + client.config.batch_size
        with connect(settings) as conn:  # the page, the cursor and (at the end) the watermark together
            add_counts(total, stage_records(conn, page.records, run_id))
            if nxt >= search.count:
                _finish_window(conn, wid, run_id)
            else:
                set_watermark(conn, CURSOR, json.dumps({
                    "window": wid, "search": search.window, "count": search.count, "webenv": search.webenv,
                    "query_key": search.query_key, "next": nxt}), run_id)
        pages += 1
        if progress:
            progress(len(page.records))
    return {**total.as_dict(), "found": search.count, "pages": pages, "resumed_at": start_at}


def next_window(conn: Any, until: dt.date, first_day: dt.date | None = None,
                date_type: str = "edat") -> tuple[dt.date, dt.date] | None:
    """The window a nightly run should stage: the day after the last completed window up to `until`.

    With no watermark yet it starts at `first_day` (default: `until` itself). None when up to date.
    """
    done = get_watermark(conn, SOURCE)
    if done:
        last_end = dt.date.fromisoformat(done.split(" ", 1)[0].split("..", 1)[1])
        start = last_end + dt.timedelta(days=1)
    else:
        start = first_day or until
    return (start, until) if start <= until else None


def _cursor(conn: Any) -> dict[str, Any] | None:
    raw = get_watermark(conn, CURSOR)
    return json.loads(raw) if raw else None


def _finish_window(conn: Any, wid: str, run_id: str) -> None:
    set_watermark(conn, SOURCE, wid, run_id)
    execute(conn, "DELETE FROM source_watermarks WHERE source = %s", (CURSOR,))
