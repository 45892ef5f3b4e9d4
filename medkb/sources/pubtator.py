"""Reader for PubTator files (the gold corpora and PubTator's bulk files share this format).

`PMID|t|title`, `PMID|a|abstract`, then tab-separated annotations
`PMID start end mention type ids` (offsets into title + " " + abstract), optional relation lines
`PMID REL id1 id2`, and a blank line between documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


class PubTatorFormatError(ValueError):
    """A line that is not PubTator; the message names the file, line and document."""


@dataclass(frozen=True)
class Annotation:
    start: int
    end: int
    text: str
    type: str  # as written in the file: Chemical, Disease, SpecificDisease, Modifier, ...
    ids: tuple[str, ...]  # concept ids; empty when the file says -1 or nothing


@dataclass(frozen=True)
class Relation:
    type: str  # CID in BC5CDR
    subject: str
    object: str


@dataclass(frozen=True)
class PubTatorDocument:
    source: str
    key: str  # PMID
    title: str
    abstract: str
    annotations: tuple[Annotation, ...] = field(default_factory=tuple)
    relations: tuple[Relation, ...] = field(default_factory=tuple)
    origin: str = ""
    version: int = 1

    @property
    def text(self) -> str:
        """The text that annotation offsets index into."""
        return f"{self.title} {self.abstract}"


def _ids(raw: str) -> tuple[str, ...]:
    raw = raw.strip()
    if not raw or raw == "-1":
        return ()
    return tuple(i.strip() for i in raw.replace(",", "|").replace("+", "|").split("|") if i.strip() and i.strip() != "-1")


def read_pubtator(path: Path | str, source: str = "pubtator") -> Iterator[PubTatorDocument]:
    """Yield documents in file order; a malformed line raises with its file and line number."""
    path = Path(path)
    doc: dict | None = None

    def flush() -> PubTatorDocument | None:
        if doc is None:
            return None
        return PubTatorDocument(
            source=source,
            key=doc["pmid"],
            title=doc.get("t", ""),
            abstract=doc.get("a", ""),
            annotations=tuple(doc["anns"]),
            relations=tuple(doc["rels"]),
            origin=path.name,
        )

    with open(path, encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.rstrip("\n").rstrip("\r")
            if not line.strip():
                done = flush()
                if done is not None:
                    yield done
                doc = None
                continue
            if "|" in line.split("\t", 1)[0] and line.split("|", 2)[1:2] in (["t"], ["a"]):
                pmid, kind, text = line.split("|", 2)
                if doc is None:
                    doc = {"pmid": pmid, "anns": [], "rels": []}
                elif doc["pmid"] != pmid:
                    raise PubTatorFormatError(f"{path.name}:{lineno}: PMID {pmid} inside document {doc['pmid']}")
                doc[kind] = text
                continue
            cols = line.split("\t")
            if doc is None or cols[0] != doc["pmid"]:
                raise PubTatorFormatError(f"{path.name}:{lineno}: annotation line outside its document")
            if len(cols) >= 5 and cols[1].isdigit() and cols[2].isdigit():
                ids = _ids(cols[5]) if len(cols) > 5 else ()
                ann = Annotation(int(cols[1]), int(cols[2]), cols[3], cols[4], ids)
                text = f"{doc.get('t', '')} {doc.get('a', '')}"
                if " ".join(text[ann.start : ann.end].split()) != " ".join(ann.text.split()):
                    raise PubTatorFormatError(
                        f"{path.name}:{lineno}: document {doc['pmid']}: offsets {ann.start}-{ann.end} "
                        f"do not cover {ann.text!r}"
                    )
                doc["anns"].append(ann)
            elif len(cols) >= 4:
                doc["rels"].append(Relation(cols[1], cols[2], cols[3]))
            else:
                raise PubTatorFormatError(f"{path.name}:{lineno}: document {doc['pmid']}: unreadable line")
    done = flush()
    if done is not None:
        yield done
