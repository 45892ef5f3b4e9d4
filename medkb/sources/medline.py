"""Streaming reader for MEDLINE/PubMed XML files (baseline and update, plain or gzipped).

Memory stays flat whatever the file size: elements are cleared as soon as they are read.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from xml.etree.ElementTree import Element, iterparse

from medkb.sources.records import Citation, Retraction

SOURCE = "medline"


class SourceFileError(RuntimeError):
    """A source file cannot be read as a whole (not gzip, truncated, not XML)."""


def _open(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if path.suffix == ".gz" or magic == b"\x1f\x8b":
        if magic != b"\x1f\x8b":
            raise SourceFileError(f"{path.name}: named .gz but is not gzip data; re-download the file")
        return gzip.open(path, "rb")
    return open(path, "rb")


def _text(el: Element | None) -> str:
    return "".join(el.itertext()).strip() if el is not None else ""


def _citation(article: Element, origin: str) -> Citation:
    mc = article.find("MedlineCitation")
    if mc is None:
        raise ValueError("PubmedArticle without MedlineCitation")
    pmid_el = mc.find("PMID")
    pmid = _text(pmid_el)
    version = int(pmid_el.get("Version", "1")) if pmid_el is not None else 1
    art = mc.find("Article")
    title = _text(art.find("ArticleTitle")) if art is not None else ""
    parts = []
    if art is not None:
        for ab in art.findall("Abstract/AbstractText"):
            label = ab.get("Label")
            text = _text(ab)
            parts.append(f"{label}: {text}" if label and text else text)
    year = None
    if art is not None:
        y = art.findtext("Journal/JournalIssue/PubDate/Year") or (
            art.findtext("Journal/JournalIssue/PubDate/MedlineDate") or ""
        )[:4]
        year = int(y) if y and y.isdigit() else None
    mesh = tuple(
        d.get("UI") or _text(d) for d in mc.findall("MeshHeadingList/MeshHeading/DescriptorName")
    )
    return Citation(
        source=SOURCE,
        key=pmid,
        version=version,
        title=title,
        abstract=" ".join(p for p in parts if p),
        language=(art.findtext("Language") if art is not None else None),
        journal=(art.findtext("Journal/Title") if art is not None else None),
        pub_year=year,
        mesh_terms=mesh,
        origin=origin,
    )


def read_medline(path: Path | str) -> Iterator[Citation | Retraction]:
    """Yield citations and retractions in file order."""
    path = Path(path)
    origin = path.name
    try:
        with _open(path) as fh:
            for _event, el in iterparse(fh, events=("end",)):
                if el.tag == "PubmedArticle":
                    yield _citation(el, origin)
                    el.clear()
                elif el.tag == "DeleteCitation":
                    for p in el.findall("PMID"):
                        yield Retraction(source=SOURCE, key=_text(p), origin=origin)
                    el.clear()
    except (EOFError, OSError) as exc:
        raise SourceFileError(f"{path.name}: cannot read ({exc}); the file is truncated or corrupt") from None
    except SyntaxError as exc:  # xml.etree.ElementTree.ParseError
        raise SourceFileError(f"{path.name}: not well-formed XML ({exc})") from None
