"""The MEDLINE reader: records, retractions, rejected records, and clear errors for unreadable files."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from medkb.errors import SourceFileError
from medkb.sources.citations import Citation, Retraction
from medkb.sources.medline import read_medline
from medkb.sources.rejected import Rejected

FIXTURE = Path(__file__).parents[1] / "fixtures" / "medline" / "sample.xml"


def _raw(tmp_path: Path, data: bytes, name: str) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def _gz(tmp_path: Path, text: bytes, name: str = "f.xml.gz") -> Path:
    p = tmp_path / name
    p.write_bytes(gzip.compress(text))
    return p


def test_reads_real_citations_plain_and_gzipped(tmp_path: Path) -> None:
    plain = list(read_medline(FIXTURE))
    gz = list(read_medline(_gz(tmp_path, FIXTURE.read_bytes())))
    assert [c.key for c in plain] == [c.key for c in gz]
    assert all(isinstance(c, Citation) and c.source == "medline" and c.version == 1 for c in plain)
    assert len(plain) == 4
    assert sum(1 for c in plain if c.abstract) == 3 and all(c.title for c in plain)
    assert all(c.pub_year and 1900 < c.pub_year < 2030 for c in plain)
    assert plain[0].origin == "sample.xml"


def test_delete_citation_becomes_retraction(tmp_path: Path) -> None:
    body = FIXTURE.read_text().replace(
        "</PubmedArticleSet>",
        '<DeleteCitation><PMID Version="1">123</PMID><PMID Version="1">456</PMID></DeleteCitation>\n</PubmedArticleSet>',
    )
    recs = list(read_medline(_gz(tmp_path, body.encode())))
    assert [r.key for r in recs if isinstance(r, Retraction)] == ["123", "456"]


def test_article_without_pmid_is_rejected_and_the_rest_read(tmp_path: Path) -> None:
    text = FIXTURE.read_text()
    first_pmid = text.index('<PMID Version="1">')
    end = text.index("</PMID>", first_pmid) + len("</PMID>")
    recs = list(read_medline(_gz(tmp_path, (text[:first_pmid] + text[end:]).encode())))
    rejected = [r for r in recs if isinstance(r, Rejected)]
    assert len(rejected) == 1 and "without a PMID" in rejected[0].reason
    assert "<PubmedArticle>" in rejected[0].payload["xml"]
    assert sum(isinstance(r, Citation) for r in recs) == 3


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda t, raw: _gz(t, b""), "empty"),
        (lambda t, raw: _raw(t, b"", "e.xml.gz"), "empty file"),
        (lambda t, raw: _raw(t, raw, "n.xml.gz"), "not gzip"),
        (lambda t, raw: _raw(t, gzip.compress(raw)[:-200], "tr.xml.gz"), "truncated"),
        (lambda t, raw: _gz(t, raw[: len(raw) // 2]), "ends early"),
        (lambda t, raw: _gz(t, raw.replace(b"<ArticleTitle>", b"<ArticleTitle>\xff\xfe", 1)), "invalid UTF-8"),
        (lambda t, raw: _gz(t, raw.replace(b"</Journal>", b"</Jounal>", 1)), "not well-formed"),
    ],
    ids=["empty-xml", "empty-file", "not-gzip", "truncated-gzip", "truncated-xml", "invalid-utf8", "bad-xml"],
)
def test_unreadable_files_raise_naming_the_file(tmp_path: Path, make, expected: str) -> None:
    path = make(tmp_path, FIXTURE.read_bytes())
    with pytest.raises(SourceFileError) as err:
        list(read_medline(path))
    assert path.name in str(err.value) and expected in str(err.value)


def test_five_megabyte_abstract_is_read_whole(tmp_path: Path) -> None:
    big = "x" * (5 * 1024 * 1024)
    body = FIXTURE.read_text().replace("<AbstractText>", f"<AbstractText>{big} ", 1)
    recs = [r for r in read_medline(_gz(tmp_path, body.encode())) if isinstance(r, Citation)]
    assert max(len(r.abstract) for r in recs) > 5 * 1024 * 1024
