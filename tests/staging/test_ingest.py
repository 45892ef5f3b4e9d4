"""Staging literature files: idempotent upserts, revisions, retractions, quarantine, watermarks."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from medkb.db.postgres import fetch_all
from medkb.staging import ingest
from medkb.staging.ingest import IngestFailed, ingest_medline_files
from medkb.staging.runs import get_watermark

pytestmark = pytest.mark.integration
FIXTURE = Path(__file__).parents[1] / "fixtures" / "medline" / "sample.xml"
PMIDS = ["399296", "399298", "399299", "399297"]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_bytes(gzip.compress(text.encode()))
    return p


def _rows(pg, key: str | None = None) -> list[dict]:
    pg.commit()
    return fetch_all(
        pg,
        "SELECT source_key, version, title, retracted, superseded, state, run_id FROM staged_documents "
        "WHERE %(k)s::text IS NULL OR source_key = %(k)s ORDER BY source_key, version",
        {"k": key},
    )


def test_stage_then_restage_changes_nothing(pg, settings, tmp_path: Path) -> None:
    f = _write(tmp_path, "base0001.xml.gz", FIXTURE.read_text())
    first = ingest_medline_files(settings, [f], "run-1")
    assert (first["staged"], first["updated"], first["quarantined"]) == (4, 0, 0)
    before = _rows(pg)
    again = ingest_medline_files(settings, [f], "run-2")
    assert (again["staged"], again["updated"], again["unchanged"]) == (0, 0, 4)
    assert _rows(pg) == before  # not even the run id moved
    assert get_watermark(pg, "medline") == "base0001.xml.gz"


def test_higher_version_replaces_and_reissue_updates(pg, settings, tmp_path: Path) -> None:
    text = FIXTURE.read_text()
    ingest_medline_files(settings, [_write(tmp_path, "a.xml.gz", text)], "run-1")
    revised = text.replace('<PMID Version="1">399296</PMID>', '<PMID Version="2">399296</PMID>', 1)
    reissued = revised.replace("<ArticleTitle>", "<ArticleTitle>Corrected: ", 2)
    counts = ingest_medline_files(settings, [_write(tmp_path, "b.xml.gz", reissued)], "run-2")
    assert counts["staged"] == 0 and counts["updated"] == 2
    rows = _rows(pg, "399296")
    assert [(r["version"], r["superseded"]) for r in rows] == [(1, True), (2, False)]
    second = [r for r in _rows(pg) if r["source_key"] != "399296" and r["title"].startswith("Corrected: ")]
    assert len(second) == 1 and second[0]["run_id"] == "run-2" and second[0]["state"] == "staged"


def test_delete_citation_retracts_known_and_records_unknown(pg, settings, tmp_path: Path) -> None:
    ingest_medline_files(settings, [_write(tmp_path, "a.xml.gz", FIXTURE.read_text())], "run-1")
    upd = ('<?xml version="1.0"?><PubmedArticleSet><DeleteCitation><PMID Version="1">399298</PMID>'
           '<PMID Version="1">99999999</PMID></DeleteCitation></PubmedArticleSet>')
    counts = ingest_medline_files(settings, [_write(tmp_path, "u.xml.gz", upd)], "run-2")
    assert counts["retracted"] == 2
    assert [r["retracted"] for r in _rows(pg, "399298")] == [True]  # marked, not lost
    assert _rows(pg, "99999999") == []
    rec = fetch_all(pg, "SELECT source_key, origin FROM retractions ORDER BY source_key")
    assert rec == [{"source_key": "399298", "origin": "u.xml.gz"}, {"source_key": "99999999", "origin": "u.xml.gz"}]
    again = ingest_medline_files(settings, [_write(tmp_path, "u.xml.gz", upd)], "run-3")
    assert again["retracted"] == 0


def test_same_pmid_twice_in_a_batch(pg, settings, tmp_path: Path) -> None:
    text = FIXTURE.read_text()
    start = text.index("<PubmedArticle>")
    first = text[start: text.index("</PubmedArticle>") + len("</PubmedArticle>")]
    changed = first.replace("<ArticleTitle>", "<ArticleTitle>Re-issued: ", 1)
    body = text.replace("</PubmedArticleSet>", first + changed + "</PubmedArticleSet>")
    counts = ingest_medline_files(settings, [_write(tmp_path, "d.xml.gz", body)], "run-1")
    assert counts["staged"] == 4 and counts["duplicates"] == 1 and counts["quarantined"] == 1
    assert _rows(pg, PMIDS[0])[0]["title"].startswith("Re-issued: ")
    q = fetch_all(pg, "SELECT source_key, stage, reasons, payload FROM quarantine")
    assert q[0]["source_key"] == PMIDS[0] and "twice in one batch" in q[0]["reasons"][0]["message"]
    assert q[0]["reasons"][0]["expectation"] == "unique_in_file"
    assert not q[0]["payload"]["title"].startswith("Re-issued")


def test_same_pmid_twice_in_a_file_across_batches(pg, settings, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(ingest, "BATCH", 2)  # the repeat lands in a later batch than the original
    text = FIXTURE.read_text()
    start = text.index("<PubmedArticle>")
    first = text[start: text.index("</PubmedArticle>") + len("</PubmedArticle>")]
    body = text.replace("</PubmedArticleSet>", first + first.replace("<ArticleTitle>", "<ArticleTitle>Again: ", 1)
                        + first + "</PubmedArticleSet>")
    counts = ingest_medline_files(settings, [_write(tmp_path, "d.xml.gz", body)], "run-1")
    # three entries were replaced by a later one (the original twice, the re-issue once); each is held back
    assert (counts["staged"], counts["updated"], counts["quarantined"], counts["duplicates"]) == (4, 0, 3, 0)
    assert not _rows(pg, PMIDS[0])[0]["title"].startswith("Again: ")  # the last entry in the file wins
    q = fetch_all(pg, "SELECT reasons, payload FROM quarantine")  # one entry per record, both reasons
    assert len(q) == 1 and len(q[0]["reasons"]) == 3 and "twice in one file" in q[0]["reasons"][-1]["message"]
    held = [q[0]["payload"], *q[0]["payload"]["_earlier"]]
    assert sorted(p["title"].startswith("Again: ") for p in held) == [False, False, True]
    again = ingest_medline_files(settings, [_write(tmp_path, "d.xml.gz", body)], "run-2")
    assert again["unchanged"] >= 3 and again["staged"] == 0


def test_bad_file_is_quarantined_and_the_rest_lands(pg, settings, tmp_path: Path) -> None:
    good = _write(tmp_path, "good.xml.gz", FIXTURE.read_text())
    raw = gzip.compress(FIXTURE.read_bytes())
    truncated = tmp_path / "truncated.xml.gz"
    truncated.write_bytes(raw[: len(raw) - 300])  # articles before the cut parse, then the file breaks
    notgz = tmp_path / "notgzip.xml.gz"
    notgz.write_bytes(FIXTURE.read_bytes().replace(b"399", b"777"))
    counts = ingest_medline_files(settings, [truncated, good, notgz], "run-1")
    assert counts["staged"] == 4 and counts["files_failed"] == 2 and counts["quarantined"] == 2
    assert sorted(r["source_key"] for r in _rows(pg)) == sorted(PMIDS)  # nothing half-written
    q = fetch_all(pg, "SELECT source_key, reasons, payload FROM quarantine ORDER BY source_key")
    assert [r["source_key"] for r in q] == ["notgzip.xml.gz", "truncated.xml.gz"]
    assert "not gzip" in q[0]["reasons"][0]["message"] and q[1]["payload"]["size"] == len(raw) - 300
    assert get_watermark(pg, "medline") == "good.xml.gz"


def test_run_fails_when_no_file_is_readable(pg, settings, tmp_path: Path) -> None:
    empty = tmp_path / "empty.xml.gz"
    empty.write_bytes(b"")
    with pytest.raises(IngestFailed, match="empty.xml.gz: empty file"):
        ingest_medline_files(settings, [empty], "run-1")
    assert get_watermark(pg, "medline") is None


def test_a_rescanned_drop_file_is_read_once_per_content_and_limit(pg, settings, tmp_path: Path) -> None:
    """Issue 13: a night re-scans its drop folder; a file already read whole with the same content
    is skipped (the night reads only its new files), a file named explicitly is read again."""
    f = _write(tmp_path, "night0001.xml.gz", FIXTURE.read_text())
    first = ingest_medline_files(settings, [f], "run-1", limit=2, rescanned=[f])
    assert (first["staged"], first["files_skipped"]) == (2, 0)
    wider = ingest_medline_files(settings, [f], "run-2", rescanned=[f])  # read with limit 2: not all of it
    assert (wider["staged"], wider["unchanged"], wider["files_skipped"]) == (2, 2, 0)
    before = _rows(pg)
    again = ingest_medline_files(settings, [f], "run-3", rescanned=[f])
    assert (again["staged"], again["unchanged"], again["files_skipped"]) == (0, 0, 1)
    assert ingest_medline_files(settings, [f], "run-4", limit=3, rescanned=[f])["files_skipped"] == 1
    assert _rows(pg) == before
    explicit = ingest_medline_files(settings, [f], "run-5")  # not a rescan: read again, nothing changes
    assert (explicit["unchanged"], explicit["files_skipped"]) == (4, 0)
    recorded = fetch_all(pg, "SELECT run_id, counts->'limit' AS lim FROM ingested_files WHERE source = 'medline'")
    assert recorded == [{"run_id": "run-2", "lim": None}]
    f.write_bytes(gzip.compress(FIXTURE.read_text().replace("</ArticleTitle>", " (rev)</ArticleTitle>", 1).encode()))
    changed = ingest_medline_files(settings, [f], "run-6", rescanned=[f])  # new content, same name: read
    assert (changed["updated"], changed["files_skipped"]) == (1, 0)
