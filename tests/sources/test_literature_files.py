"""PubTator files as citations; unreadable files raise SourceFileError naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from medkb.errors import SourceFileError
from medkb.sources.literature_files import read_pubtator_citations

FIX = Path(__file__).parents[1] / "fixtures" / "literature" / "sample.pubtator"


def test_citations_from_pubtator() -> None:
    cites = list(read_pubtator_citations(FIX))
    assert [c.key for c in cites] == ["6794356", "6504332"]
    assert all(c.source == "pubtator" and c.title and c.abstract and c.origin == FIX.name for c in cites)


@pytest.mark.parametrize(("content", "expected"), [
    (b"", "empty file"), (b"1|t|A title\n1\t0\t5\tWrong\tDisease\tD1\n", "do not cover"),
    (b"1|t|Caf\xe9\n", "invalid UTF-8"),
])
def test_unreadable_pubtator(tmp_path: Path, content: bytes, expected: str) -> None:
    p = tmp_path / "p.txt"
    p.write_bytes(content)
    with pytest.raises(SourceFileError, match=expected):
        list(read_pubtator_citations(p))
