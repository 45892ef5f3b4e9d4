"""The E-utilities client against a local server replaying real recorded NCBI responses."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from medkb.sources.citations import Citation
from medkb.sources.pubmed import EutilsClient, EutilsConfig, EutilsError, RateLimiter
from tests.sources.eutils_replay import FIX, Script, replay

WINDOW = (dt.date(2025, 9, 27), dt.date(2025, 11, 26))


def _client(url: str, sleeps: list[float], **kw) -> EutilsClient:
    cfg = EutilsConfig(base_url=url, batch_size=10_000, email="ops@example.org", **kw)
    return EutilsClient(cfg, sleep=sleeps.append)


def test_search_with_history_then_pages() -> None:
    script, sleeps = Script(), []
    with replay(script) as url:
        client = _client(url, sleeps, api_key="SECRET")
        search = client.esearch(*WINDOW, term="cancer")
        assert (search.count, search.query_key) == (42249, "1") and search.webenv.startswith("MCID_")
        pages = list(client.pages(search))
    assert [p.retstart for p in pages] == [0, 10_000, 20_000, 30_000, 40_000]
    recorded = [(FIX / f"efetch_page{i}.xml").read_text() for i in range(1, 6)]
    assert [len(p.records) for p in pages] == [t.count("<PubmedArticle>") for t in recorded]
    firsts = [next(r.key for r in p.records if isinstance(r, Citation)) for p in pages]
    assert firsts == [re.search(r'<PMID Version="\d+">(\d+)</PMID>', t).group(1) for t in recorded]
    assert all(r.source == "pubmed" for p in pages for r in p.records)
    endpoint, params = script.requests[0]
    assert endpoint == "esearch.fcgi" and params["usehistory"] == "y" and params["datetype"] == "edat"
    assert (params["mindate"], params["maxdate"]) == ("2025/09/27", "2025/11/26")
    for _, p in script.requests:
        assert (p["tool"], p["email"], p["api_key"]) == ("medkb", "ops@example.org", "SECRET")
    assert {p["WebEnv"] for e, p in script.requests if e == "efetch.fcgi"} == {search.webenv}


def test_429_then_success_backs_off() -> None:
    script, sleeps = Script(failures={"esearch.fcgi": [429, 503]}), []
    with replay(script) as url:
        search = _client(url, sleeps, backoff_s=0.5).esearch(*WINDOW)
    assert search.count == 42249 and len(script.requests) == 3
    assert 1.0 in sleeps and 1.0 in sleeps[sleeps.index(1.0):]  # Retry-After 1, then 0.5 * 2


def test_500_three_times_fails_naming_the_request_not_the_key() -> None:
    script, sleeps = Script(failures={"esearch.fcgi": [500, 500, 500]}), []
    with replay(script) as url, pytest.raises(EutilsError, match="esearch.fcgi.*HTTP 500 on all 3 tries") as err:
        _client(url, sleeps, api_key="SECRET").esearch(*WINDOW)
    assert "SECRET" not in str(err.value) and len(script.requests) == 3


def test_timeouts_are_retried(monkeypatch) -> None:
    calls = []

    def opener(url, timeout):
        calls.append(url)
        raise TimeoutError("timed out")

    client = EutilsClient(EutilsConfig(base_url="http://127.0.0.1:9"), sleep=lambda s: None, opener=opener)
    with pytest.raises(EutilsError, match="timeout or connection error"):
        client.esearch(*WINDOW)
    assert len(calls) == 3


def test_non_xml_answer_is_a_clear_error() -> None:
    script = Script(esearch="efetch_not_xml.html")
    with replay(script) as url, pytest.raises(EutilsError, match="esearch .*unexpected answer|not XML"):
        _client(url, []).esearch(*WINDOW)


def test_nothing_found() -> None:
    with replay(Script(esearch="esearch_nothing_found.xml")) as url:
        client = _client(url, [])
        search = client.esearch(*WINDOW, term="abcXYZ")
        assert search.count == 0 and list(client.pages(search)) == []


@pytest.mark.parametrize(("key", "rate"), [(None, 3), ("k", 10)])
def test_rate_limit_keeps_to_ncbi_rules(key: str | None, rate: int) -> None:
    now = [0.0]
    limiter = RateLimiter(EutilsConfig(api_key=key).rate, clock=lambda: now[0],
                          sleep=lambda s: now.__setitem__(0, now[0] + s))
    for _ in range(rate * 4 + 1):
        limiter.wait()
    assert now[0] == pytest.approx(4.0)  # n+1 calls at `rate`/s take n/rate seconds, never less
