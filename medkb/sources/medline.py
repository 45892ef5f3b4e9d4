"""Streaming reader for MEDLINE/PubMed XML files (baseline and update, plain or gzipped).

Memory stays flat whatever the file size: each article is cleared from the tree as soon as it is
read (the root is emptied too, so not even empty shells accumulate). A record that cannot be read
is yielded as `Rejected` (it goes to the quarantine); a file that cannot be read at all raises
`SourceFileError` naming the file and the reason.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import Element, ParseError, iterparse, tostring

from medkb.errors import SourceFileError
from medkb.sources.citations import Citation, Retraction
from medkb.sources.rejected import Rejected
from medkb.sources.xml_files import open_source_file, xml_error_message

SOURCE = "medline"


def _text(el: Element | None) -> str:
    return "".join(el.itertext()).strip() if el is not None else ""


def _year(art: Element) -> int | None:
    y = art.findtext("Journal/JournalIssue/PubDate/Year") or (
        art.findtext("Journal/JournalIssue/PubDate/MedlineDate") or ""
    )[:4]
    if not y:
        y = art.findtext("ArticleDate/Year") or ""
    return int(y) if y.strip().isdigit() else None


def _citation(article: Element, origin: str, source: str) -> Citation:
    """Map one PubmedArticle; raises ValueError naming what is missing."""
    mc = article.find("MedlineCitation")
    if mc is None:
        raise ValueError("PubmedArticle without MedlineCitation")
    pmid_el = mc.find("PMID")
    pmid = _text(pmid_el)
    if not pmid:
        raise ValueError("MedlineCitation without a PMID")
    raw_version = pmid_el.get("Version", "1") if pmid_el is not None else "1"
    if not raw_version.isdigit():
        raise ValueError(f"PMID {pmid}: Version {raw_version!r} is not a number")
    art = mc.find("Article")
    if art is None:
        raise ValueError(f"PMID {pmid}: MedlineCitation without Article")
    parts = []
    for ab in art.findall("Abstract/AbstractText"):
        label = ab.get("Label")
        text = _text(ab)
        parts.append(f"{label}: {text}" if label and text else text)
    mesh = tuple(d.get("UI") or _text(d) for d in mc.findall("MeshHeadingList/MeshHeading/DescriptorName"))
    return Citation(
        source=source,
        key=pmid,
        version=int(raw_version),
        title=_text(art.find("ArticleTitle")),
        abstract=" ".join(p for p in parts if p),
        language=art.findtext("Language"),
        journal=art.findtext("Journal/Title"),
        pub_year=_year(art),
        mesh_terms=mesh,
        origin=origin,
    )


def parse_articles(
    fh: IO[bytes], origin: str, source: str = SOURCE
) -> Iterator[Citation | Retraction | Rejected]:
    """Yield the records of one PubmedArticleSet stream (a file or an efetch response)."""
    root: Element | None = None
    position = 0
    for event, el in iterparse(fh, events=("start", "end")):
        if event == "start":
            if root is None:
                root = el
            continue
        if el.tag == "PubmedArticle":
            position += 1
            try:
                yield _citation(el, origin, source)
            except ValueError as exc:
                pmid = _text(el.find("MedlineCitation/PMID")) or f"{origin}#{position}"
                yield Rejected(
                    source=source, key=pmid, version=1,
                    reason=f"{origin}: article {position}: {exc}; fix the record and re-ingest the file",
                    payload={"xml": tostring(el, encoding="unicode")}, origin=origin,
                )
            root.clear()  # type: ignore[union-attr]
        elif el.tag == "DeleteCitation":
            for p in el.findall("PMID"):
                if _text(p):
                    yield Retraction(source=source, key=_text(p), origin=origin)
            root.clear()  # type: ignore[union-attr]


def read_medline(path: Path | str, source: str = SOURCE) -> Iterator[Citation | Retraction | Rejected]:
    """Yield citations, retractions and rejected records in file order."""
    path = Path(path)
    fh = open_source_file(path)
    try:
        yield from parse_articles(fh, path.name, source)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise SourceFileError(f"{path.name}: truncated or corrupt gzip ({exc}); re-download the file") from None
    except ParseError as exc:
        raise SourceFileError(xml_error_message(path, exc)) from None
    finally:
        fh.close()
