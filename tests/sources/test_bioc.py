"""The BioC reader agrees with the PubTator reader on the same documents, and names bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from medkb.errors import SourceFileError
from medkb.sources.bioc import read_bioc, read_bioc_documents
from medkb.sources.citations import Citation
from medkb.sources.pubtator import read_pubtator
from medkb.sources.rejected import Rejected

FIX = Path(__file__).parents[1] / "fixtures" / "literature"


def test_same_documents_as_pubtator() -> None:
    bioc = list(read_bioc_documents(FIX / "sample.bioc.xml"))
    pub = list(read_pubtator(FIX / "sample.pubtator"))
    assert [d.key for d in bioc] == [d.key for d in pub] == ["6794356", "6504332"]
    for b, p in zip(bioc, pub, strict=True):
        assert (b.title, b.abstract) == (p.title, p.abstract)
        assert b.annotations == p.annotations and len(b.annotations) > 10
        assert all(b.text[a.start:a.end] == a.text for a in b.annotations)
        assert {r.type for r in b.relations} == {"CID"}


def test_as_citations() -> None:
    cites = list(read_bioc(FIX / "sample.bioc.xml"))
    assert all(isinstance(c, Citation) and c.source == "bioc" and c.title and c.abstract for c in cites)


def test_annotation_off_its_text_is_rejected_rest_read(tmp_path: Path) -> None:
    text = (FIX / "sample.bioc.xml").read_text().replace('offset="0" length="29"', 'offset="3" length="29"', 1)
    p = tmp_path / "b.xml"
    p.write_text(text)
    recs = list(read_bioc_documents(p))
    assert isinstance(recs[0], Rejected) and "does not cover" in recs[0].reason and recs[0].key == "6794356"
    assert recs[1].key == "6504332"


@pytest.mark.parametrize(("content", "expected"), [
    (b"", "empty file"), (b"<collection><document><id>1</id>", "ends early"),
    (b"<other/>", "not a BioC collection"), (b"<collection><source>\xff</source></collection>", "invalid UTF-8"),
])
def test_unreadable_files(tmp_path: Path, content: bytes, expected: str) -> None:
    p = tmp_path / "x.xml"
    p.write_bytes(content)
    with pytest.raises(SourceFileError, match=f"x.xml: .*{expected}"):
        list(read_bioc_documents(p))
