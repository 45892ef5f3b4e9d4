"""Streaming reader for BioC XML collections (the format PubTator and BioCreative distribute).

A document's passages whose `type` infon is title/front become the title, the rest the abstract.
Annotations are kept with offsets into `title + " " + abstract`, the same convention as the
PubTator reader, so both formats yield the same `PubTatorDocument` records.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError, iterparse, tostring

from medkb.errors import SourceFileError
from medkb.sources.citations import Citation
from medkb.sources.literature_files import as_citation
from medkb.sources.pubtator import Annotation, PubTatorDocument, Relation
from medkb.sources.rejected import Rejected
from medkb.sources.xml_files import open_source_file, xml_error_message

SOURCE = "bioc"
_TITLE_TYPES = {"title", "front", "title_1"}


def _infons(el: Element) -> dict[str, str]:
    return {i.get("key", ""): (i.text or "") for i in el.findall("infon")}


def _document(doc: Element, source: str, origin: str) -> PubTatorDocument:
    key = (doc.findtext("id") or "").strip()
    if not key:
        raise ValueError("document without <id>")
    titles: list[tuple[int, str, Element]] = []
    others: list[tuple[int, str, Element]] = []
    for p in doc.findall("passage"):
        text = p.findtext("text") or ""
        offset = int(p.findtext("offset") or 0)
        (titles if _infons(p).get("type", "").lower() in _TITLE_TYPES else others).append((offset, text, p))
    title = " ".join(t for _, t, _ in titles)
    abstract = " ".join(t for _, t, _ in others)
    anns: list[Annotation] = []
    shift = 0
    for group, base in ((titles, 0), (others, len(title) + 1)):
        shift = base
        for offset, text, passage in group:
            for a in passage.findall("annotation"):
                anns.append(_annotation(a, key, offset, shift, text))
            shift += len(text) + 1
    rels = tuple(
        Relation(_infons(r).get("relation") or _infons(r).get("type", ""),
                 *[n.get("refid", "") for n in r.findall("node")][:2])
        for r in doc.iter("relation") if len(r.findall("node")) >= 2
    )
    return PubTatorDocument(source=source, key=key, title=title, abstract=abstract, annotations=tuple(anns),
                            relations=rels, origin=origin)


def _annotation(a: Element, key: str, passage_offset: int, shift: int, passage_text: str) -> Annotation:
    info = _infons(a)
    loc = a.find("location")
    if loc is None:
        raise ValueError(f"document {key}: annotation {a.get('id')} without <location>")
    start = int(loc.get("offset", "0")) - passage_offset
    length = int(loc.get("length", "0"))
    text = a.findtext("text") or ""
    if passage_text[start:start + length] != text:
        raise ValueError(f"document {key}: annotation {a.get('id')} at {start} does not cover {text!r}")
    ids = tuple(i for i in (info.get("identifier") or info.get("MESH") or "").replace(",", "|").split("|")
                if i and i != "-1")
    return Annotation(shift + start, shift + start + length, text, info.get("type", ""), ids)


def read_bioc_documents(path: Path | str, source: str = SOURCE) -> Iterator[PubTatorDocument | Rejected]:
    """Yield each document (or a Rejected for one that cannot be read); memory stays flat."""
    path = Path(path)
    fh = open_source_file(path)
    root: Element | None = None
    position = 0
    try:
        for event, el in iterparse(fh, events=("start", "end")):
            if event == "start":
                root = root if root is not None else el
                continue
            if el.tag != "document":
                continue
            position += 1
            try:
                yield _document(el, source, path.name)
            except ValueError as exc:
                yield Rejected(source=source, key=(el.findtext("id") or f"{path.name}#{position}").strip(),
                               version=1, reason=f"{path.name}: {exc}; fix the document and re-ingest the file",
                               payload={"document": position, "xml": tostring(el, encoding="unicode")},
                               origin=path.name)
            root.clear()  # type: ignore[union-attr]
    except ParseError as exc:
        raise SourceFileError(xml_error_message(path, exc)) from None
    except (EOFError, OSError) as exc:
        raise SourceFileError(f"{path.name}: truncated or corrupt ({exc}); re-download the file") from None
    finally:
        fh.close()
    if root is None or root.tag != "collection":
        raise SourceFileError(f"{path.name}: not a BioC collection (root <{getattr(root, 'tag', '')}>)")


def read_bioc(path: Path) -> Iterator[Citation | Rejected]:
    """BioC documents as citations, for staging."""
    for doc in read_bioc_documents(path):
        yield doc if isinstance(doc, Rejected) else as_citation(doc)
