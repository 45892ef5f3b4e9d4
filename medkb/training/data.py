"""Gold corpora (PubTator) as training examples: document text plus typed character spans.

NCBI Disease's classes (SpecificDisease, DiseaseClass, Modifier, CompositeMention) all map to
Disease, so both corpora train one Chemical/Disease tagger.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from medkb.nlp.windows import Span
from medkb.sources.pubtator import PubTatorDocument, read_pubtator

TYPE_MAP = {
    "Chemical": "Chemical",
    "Disease": "Disease",
    "SpecificDisease": "Disease",
    "DiseaseClass": "Disease",
    "Modifier": "Disease",
    "CompositeMention": "Disease",
}


@dataclass(frozen=True)
class GoldMention:
    start: int
    end: int
    type: str
    text: str
    ids: tuple[str, ...]  # MeSH/OMIM ids as in the file, without prefix


@dataclass(frozen=True)
class Example:
    """One gold document: its text, mentions and CID relations, with provenance."""

    source: str  # corpus file name
    key: str  # PMID
    text: str
    mentions: tuple[GoldMention, ...]
    relations: tuple[tuple[str, str], ...]  # (chemical id, disease id)
    title: str = ""  # text = title + " " + abstract

    @property
    def spans(self) -> list[Span]:
        return [Span(m.start, m.end, m.type) for m in self.mentions]


def to_example(doc: PubTatorDocument) -> Example:
    mentions = []
    for a in doc.annotations:
        typ = TYPE_MAP.get(a.type)
        if typ is None:
            continue
        mentions.append(GoldMention(a.start, a.end, typ, doc.text[a.start : a.end], a.ids))
    mentions.sort(key=lambda m: (m.start, -m.end))
    rels = tuple((r.subject, r.object) for r in doc.relations if r.type == "CID")
    return Example(doc.origin, doc.key, doc.text, tuple(_drop_overlaps(mentions)), rels, doc.title)


def _drop_overlaps(mentions: list[GoldMention]) -> list[GoldMention]:
    """BIO cannot hold overlapping spans: keep the first (longest at its start) of an overlap."""
    out: list[GoldMention] = []
    for m in mentions:
        if out and m.start < out[-1].end:
            continue
        out.append(m)
    return out


def load_corpus(path: Path | str) -> list[Example]:
    """Every document of a PubTator file as an Example."""
    return [to_example(d) for d in read_pubtator(path, source=Path(path).name)]


def load_corpora(paths: Iterable[Path | str]) -> list[Example]:
    out: list[Example] = []
    for p in paths:
        out.extend(load_corpus(p))
    return out
