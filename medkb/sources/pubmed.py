"""PubMed E-utilities client: esearch over a date window with the history server, efetch in pages.

Keeps NCBI's rules: `tool` and `email` on every request, an optional API key, at most 3 requests
per second (10 with a key), and backs off and retries on 429, 5xx and timeouts. Paging is
resumable: a page is fetched by (WebEnv, query_key, retstart), so a caller that recorded how far it
got can continue there. The API key never appears in errors or logs.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError, fromstring

from medkb.sources.citations import Citation, Retraction
from medkb.sources.medline import parse_articles
from medkb.sources.rejected import Rejected

SOURCE = "pubmed"
NCBI = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_RETMAX = 10_000  # efetch's own cap per request

log = logging.getLogger(__name__)


class EutilsError(RuntimeError):
    """E-utilities did not answer usefully after the retries; the message names the request."""


class HistoryExpired(EutilsError):
    """The history server no longer knows the WebEnv/query_key (they expire after some hours)."""


@dataclass(frozen=True)
class EutilsConfig:
    base_url: str = NCBI
    api_key: str | None = None
    tool: str = "medkb"
    email: str = ""
    batch_size: int = 500
    attempts: int = 3  # tries per request, the first included
    backoff_s: float = 1.0  # doubled after each failed try (or the server's Retry-After)
    timeout_s: float = 30.0
    requests_per_s: float | None = None  # default: 3, or 10 with an API key

    @property
    def rate(self) -> float:
        return self.requests_per_s or (10.0 if self.api_key else 3.0)

    @classmethod
    def from_env(cls, base_url: str | None = None, env: dict[str, str] | None = None) -> EutilsConfig:
        env = dict(os.environ if env is None else env)
        return cls(
            base_url=(base_url or env.get("MEDKB_EUTILS_URL") or NCBI).rstrip("/"),
            api_key=env.get("MEDKB_NCBI_API_KEY") or None,
            tool=env.get("MEDKB_NCBI_TOOL", "medkb"),
            email=env.get("MEDKB_NCBI_EMAIL", ""),
        )


@dataclass(frozen=True)
class SearchResult:
    count: int
    webenv: str
    query_key: str
    window: str  # "YYYY/MM/DD:YYYY/MM/DD[datetype]", what the search covered


@dataclass(frozen=True)
class Page:
    retstart: int
    records: list[Citation | Retraction | Rejected] = field(default_factory=list)


class RateLimiter:
    """At most `rate` calls per second: waits until 1/rate seconds passed since the previous call."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 1.0 / rate
        self._clock, self._sleep = clock, sleep
        self._last: float | None = None

    def wait(self) -> None:
        now = self._clock()
        if self._last is not None and now - self._last < self.interval:
            self._sleep(self.interval - (now - self._last))
            now = self._clock()
        self._last = now


class EutilsClient:
    def __init__(self, config: EutilsConfig, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 opener: Callable[..., object] = urllib.request.urlopen) -> None:
        self.config = config
        self._sleep = sleep
        self._open = opener
        self.limiter = RateLimiter(config.rate, clock, sleep)

    def _get(self, endpoint: str, params: dict[str, str | int]) -> bytes:
        """One request with the common parameters, rate-limited, retried with backoff."""
        common: dict[str, str | int] = {"tool": self.config.tool}
        if self.config.email:
            common["email"] = self.config.email
        if self.config.api_key:
            common["api_key"] = self.config.api_key
        query = urllib.parse.urlencode({**params, **common})
        url = f"{self.config.base_url}/{endpoint}?{query}"
        shown = f"{endpoint}?" + urllib.parse.urlencode(params)  # never the key
        last = ""
        for attempt in range(1, self.config.attempts + 1):
            self.limiter.wait()
            retry_after: float | None = None
            try:
                with self._open(url, timeout=self.config.timeout_s) as resp:  # type: ignore[attr-defined]
                    return resp.read()
            except urllib.error.HTTPError as exc:
                if exc.code not in RETRY_STATUS:
                    raise EutilsError(f"{shown}: HTTP {exc.code} {exc.reason}; not retried (check the query)") from None
                last = f"HTTP {exc.code}"
                ra = exc.headers.get("Retry-After") if exc.headers else None
                retry_after = float(ra) if ra and ra.isdigit() else None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                last = f"timeout or connection error ({reason})"
            if attempt < self.config.attempts:
                delay = retry_after if retry_after is not None else self.config.backoff_s * 2 ** (attempt - 1)
                log.warning("%s: %s; retry %d of %d in %.1f s", shown, last, attempt, self.config.attempts - 1, delay)
                self._sleep(delay)
        raise EutilsError(f"{shown}: {last} on all {self.config.attempts} tries; E-utilities is failing, retry later")

    def esearch(self, start: dt.date, end: dt.date, term: str = "", date_type: str = "edat") -> SearchResult:
        """Search a date window with usehistory, so any number of hits can be paged through."""
        window = f"{start:%Y/%m/%d}:{end:%Y/%m/%d}[{date_type}]"
        body = self._get("esearch.fcgi", {
            "db": "pubmed", "term": term or "all[sb]", "datetype": date_type,
            "mindate": f"{start:%Y/%m/%d}", "maxdate": f"{end:%Y/%m/%d}", "usehistory": "y", "retmax": 0,
        })
        try:
            root = fromstring(body)
        except ParseError as exc:
            raise EutilsError(f"esearch {window}: the answer is not XML ({exc})") from None
        if root.tag != "eSearchResult" or root.findtext("Count") is None:
            msg = root.findtext("ERROR") or root.tag
            raise EutilsError(f"esearch {window}: unexpected answer ({msg})")
        count = int(root.findtext("Count") or 0)
        webenv, key = root.findtext("WebEnv") or "", root.findtext("QueryKey") or ""
        if count and not (webenv and key):
            raise EutilsError(f"esearch {window}: {count} hits but no WebEnv/QueryKey; the history server refused")
        return SearchResult(count=count, webenv=webenv, query_key=key, window=window)

    def efetch(self, search: SearchResult, retstart: int, retmax: int | None = None) -> Page:
        """One page of PubMed XML from the history server, parsed into records."""
        retmax = min(retmax or self.config.batch_size, MAX_RETMAX)
        body = self._get("efetch.fcgi", {
            "db": "pubmed", "WebEnv": search.webenv, "query_key": search.query_key,
            "retstart": retstart, "retmax": retmax, "retmode": "xml",
        })
        origin = f"efetch {search.window} retstart={retstart}"
        head = body[:2000]
        if b"<eFetchResult" in head or b"<ERROR>" in head:
            # NCBI answers 200 with an error document, e.g. when the WebEnv has expired
            msg = head.split(b"<ERROR>", 1)[-1].split(b"</ERROR>", 1)[0].decode("utf-8", "replace").strip()
            raise HistoryExpired(f"{origin}: E-utilities says {msg!r}; search again")
        try:
            records = list(parse_articles(io.BytesIO(body), origin, SOURCE))
        except ParseError as exc:
            raise EutilsError(f"{origin}: the answer is not PubMed XML ({exc}); retry later") from None
        if not records and retstart < search.count:
            raise EutilsError(f"{origin}: an empty page inside {search.count} hits; retry later")
        return Page(retstart=retstart, records=records)

    def pages(self, search: SearchResult, start_at: int = 0) -> Iterator[Page]:
        """Every page of a search from `start_at` (resume from the last page a caller committed)."""
        for retstart in range(start_at, search.count, self.config.batch_size):
            yield self.efetch(search, retstart)
