"""Staging a PubMed window: watermark only after the last page, resume after a failure."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from medkb.db.postgres import fetch_all
from medkb.sources.pubmed import EutilsClient, EutilsConfig, EutilsError
from medkb.staging.pubmed import CURSOR, ingest_pubmed_window, next_window
from medkb.staging.runs import get_watermark
from tests.sources.eutils_replay import FIX, Script, replay

pytestmark = pytest.mark.integration
START, END = dt.date(2025, 9, 27), dt.date(2025, 11, 26)
RECORDED = sum((FIX / f"efetch_page{i}.xml").read_text().count("<PubmedArticle>") for i in range(1, 6))


def _client(url: str) -> EutilsClient:
    return EutilsClient(EutilsConfig(base_url=url, batch_size=10_000), sleep=lambda s: None)


def _staged(pg) -> int:
    pg.commit()
    return fetch_all(pg, "SELECT count(*) AS n FROM staged_documents WHERE source = 'pubmed'")[0]["n"]


def test_window_staged_then_watermark(pg, settings) -> None:
    script = Script(failures={"esearch.fcgi": [429]})  # a 429 first: backed off, then fine
    with replay(script) as url:
        counts = ingest_pubmed_window(settings, START, END, "run-1", term="cancer", client=_client(url))
    assert counts["found"] == 42249 and counts["pages"] == 5 and counts["staged"] == RECORDED
    assert _staged(pg) == RECORDED
    assert get_watermark(pg, "pubmed") == "2025-09-27..2025-11-26 edat cancer"
    assert get_watermark(pg, CURSOR) is None
    with replay(Script()) as url:  # the same window again changes nothing
        again = ingest_pubmed_window(settings, START, END, "run-2", term="cancer", client=_client(url))
    assert again["staged"] == 0 and again["unchanged"] == RECORDED


def test_500_three_times_fails_and_the_watermark_does_not_move(pg, settings) -> None:
    with replay(Script(failures={"esearch.fcgi": [500, 500, 500]})) as url, pytest.raises(EutilsError):
        ingest_pubmed_window(settings, START, END, "run-1", client=_client(url))
    assert get_watermark(pg, "pubmed") is None and _staged(pg) == 0


def test_failure_mid_window_resumes_at_the_cursor(pg, settings) -> None:
    script = Script(fail_efetch_from=20_000)
    with replay(script) as url, pytest.raises(EutilsError, match="retstart=20000.*HTTP 500"):
        ingest_pubmed_window(settings, START, END, "run-1", client=_client(url))
    assert get_watermark(pg, "pubmed") is None  # the window is not done
    cursor = json.loads(get_watermark(pg, CURSOR))
    assert cursor["next"] == 20_000 and _staged(pg) > 0
    resumed = Script()
    with replay(resumed) as url:
        counts = ingest_pubmed_window(settings, START, END, "run-2", client=_client(url))
    assert counts["resumed_at"] == 20_000 and counts["pages"] == 3
    assert [e for e, _ in resumed.requests].count("esearch.fcgi") == 0  # the WebEnv was reused
    assert _staged(pg) == RECORDED and get_watermark(pg, "pubmed").startswith("2025-09-27..2025-11-26")


def test_next_window_follows_the_watermark(pg, settings) -> None:
    assert next_window(pg, END) == (END, END)
    assert next_window(pg, END, first_day=START) == (START, END)
    with replay(Script()) as url:
        ingest_pubmed_window(settings, START, END, "run-1", client=_client(url))
    pg.commit()
    assert next_window(pg, END) is None  # up to date
    assert next_window(pg, END + dt.timedelta(days=2)) == (END + dt.timedelta(days=1), END + dt.timedelta(days=2))


def test_expired_history_on_resume_searches_again(pg, settings) -> None:
    with replay(Script(fail_efetch_from=20_000)) as url, pytest.raises(EutilsError):
        ingest_pubmed_window(settings, START, END, "run-1", client=_client(url))
    # hours later NCBI has forgotten the WebEnv: it answers 200 with an error document
    script = Script(efetch_error_once=b"<eFetchResult><ERROR>Unable to obtain query #1</ERROR></eFetchResult>")
    with replay(script) as url:
        counts = ingest_pubmed_window(settings, START, END, "run-2", client=_client(url))
    assert counts["resumed_at"] == 0 and counts["pages"] == 5
    assert [e for e, _ in script.requests] == ["efetch.fcgi", "esearch.fcgi"] + ["efetch.fcgi"] * 5
    assert _staged(pg) == RECORDED and get_watermark(pg, CURSOR) is None
