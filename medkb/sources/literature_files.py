"""PubTator files as citations for staging (the annotations stay with the PubTator reader's records).

Wraps `medkb.sources.pubtator` so that an unreadable file raises `SourceFileError` naming the file
(the staging step quarantines it and goes on with the other files).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from medkb.errors import SourceFileError
from medkb.sources.citations import Citation
from medkb.sources.pubtator import PubTatorDocument, PubTatorFormatError, read_pubtator


def as_citation(doc: PubTatorDocument) -> Citation:
    return Citation(source=doc.source, key=doc.key, version=doc.version, title=doc.title,
                    abstract=doc.abstract, origin=doc.origin)


def read_pubtator_citations(path: Path, source: str = "pubtator") -> Iterator[Citation]:
    """Yield each PubTator document as a citation; unreadable files raise SourceFileError."""
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise SourceFileError(f"{path.name}: empty file; expected PubTator documents")
        for doc in read_pubtator(path, source=source):
            yield as_citation(doc)
    except PubTatorFormatError as exc:
        raise SourceFileError(f"{exc}; fix or re-download the file") from None
    except UnicodeDecodeError as exc:
        raise SourceFileError(f"{path.name}: invalid UTF-8 at byte {exc.start}; the file is corrupt") from None
    except OSError as exc:
        raise SourceFileError(f"{path.name}: cannot read ({exc.strerror})") from None
