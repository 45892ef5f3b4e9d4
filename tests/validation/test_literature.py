"""Literature validation against the real Postgres: quarantine, validated rows, threshold, release."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import pytest

from medkb.db.postgres import fetch_all
from medkb.staging import quarantine
from medkb.staging.ingest import ingest_medline_files
from medkb.validation.batch import ValidationFailed
from medkb.validation.literature import validate_staged_literature

pytestmark = pytest.mark.integration
FIXTURE = Path(__file__).parents[1] / "fixtures" / "medline" / "sample.xml"
BIG = 5 * 1024 * 1024


def _stage(settings, tmp_path: Path, text: str, run: str = "run-1") -> None:
    p = tmp_path / f"{run}.xml.gz"
    p.write_bytes(gzip.compress(text.encode()))
    ingest_medline_files(settings, [p], run)


def _states(pg) -> dict[str, str]:
    pg.commit()
    return {r["source_key"]: r["state"] for r in fetch_all(pg, "SELECT source_key, state FROM staged_documents")}


def _with_big_abstract_and_bad_year(text: str) -> str:
    text = text.replace("<AbstractText>", "<AbstractText>" + "x" * BIG + " ", 1)  # first article (399296)
    second = text.index('<PMID Version="1">399298</PMID>')
    year = text.index("<Year>", text.index("<PubDate>", second))
    return text[:year] + "<Year>1492</Year>" + text[year + len("<Year>1492</Year>"):]


def test_failures_quarantined_good_rows_validated(pg, settings, tmp_path: Path, caplog) -> None:
    _stage(settings, tmp_path, _with_big_abstract_and_bad_year(FIXTURE.read_text()))
    with caplog.at_level(logging.WARNING):
        out = validate_staged_literature(pg, "run-v", threshold=0.6)
    pg.commit()
    assert (out.rows, out.quarantined, out.validated, out.warned) == (4, 2, 2, 1)
    states = _states(pg)
    assert states == {"399296": "quarantined", "399298": "quarantined", "399297": "validated", "399299": "validated"}
    q = {r["source_key"]: r for r in fetch_all(pg, "SELECT source_key, stage, reasons, payload, run_id FROM quarantine")}
    assert [r["expectation"] for r in q["399296"]["reasons"]] == ["abstract_length"]
    assert "characters" in q["399296"]["reasons"][0]["observed"]
    assert len(q["399296"]["payload"]["abstract"]) > BIG  # the raw payload is kept whole
    assert q["399298"]["reasons"][0]["observed"] == 1492 and q["399298"]["run_id"] == "run-v"
    # the title-only citation went on, with a note naming the reason
    note = fetch_all(pg, "SELECT validation_notes FROM staged_documents WHERE source_key = '399297'")
    assert note[0]["validation_notes"][0]["expectation"] == "abstract_present"
    # one log line per failing check: count and example keys, never the row values
    lines = [r.getMessage() for r in caplog.records if r.name == "medkb.validation.batch"]
    assert any("abstract_length (critical) failed for 1 of 4 rows, e.g. 399296" in m for m in lines)
    assert len(lines) == 3 and not any("xxxx" in m or "1492" in m for m in lines)
    # re-running finds nothing left to check and changes nothing
    assert validate_staged_literature(pg, "run-v2").rows == 0


def test_threshold_fails_loudly_and_moves_nothing(pg, settings, tmp_path: Path) -> None:
    _stage(settings, tmp_path, _with_big_abstract_and_bad_year(FIXTURE.read_text()))
    with pytest.raises(ValidationFailed, match=r"2 of 4 rows failed \(50.0% > 10.0% allowed\).*abstract_length 1"):
        validate_staged_literature(pg, "run-v", threshold=0.1)
    pg.rollback()
    assert set(_states(pg).values()) == {"staged"}
    assert quarantine.count(pg, "run-v") == 2  # kept so the operator can see why


def test_release_requeues_after_a_fix(pg, settings, tmp_path: Path) -> None:
    _stage(settings, tmp_path, _with_big_abstract_and_bad_year(FIXTURE.read_text()))
    validate_staged_literature(pg, "run-v", threshold=0.9)
    pg.commit()
    entry = next(e for e in quarantine.list_entries(pg) if e["source_key"] == "399298")
    # the operator fixes the year in place, then releases the entry
    with pg.cursor() as cur:
        cur.execute("UPDATE staged_documents SET pub_year = 1978 WHERE source_key = '399298'")
    done = quarantine.release(pg, entry["id"])
    assert done["requeued_rows"] == 1 and _states(pg)["399298"] == "staged"
    with pytest.raises(quarantine.QuarantineError, match="already released"):
        quarantine.release(pg, entry["id"])
    out = validate_staged_literature(pg, "run-v3")
    assert (out.rows, out.validated) == (1, 1) and _states(pg)["399298"] == "validated"


def test_a_fixed_citation_restaged_closes_its_entry(pg, settings, tmp_path: Path) -> None:
    _stage(settings, tmp_path, _with_big_abstract_and_bad_year(FIXTURE.read_text()))
    validate_staged_literature(pg, "run-v", threshold=0.9)
    pg.commit()
    _stage(settings, tmp_path, FIXTURE.read_text(), run="run-fixed")  # the source sent corrected records
    out = validate_staged_literature(pg, "run-v2")
    pg.commit()
    assert (out.rows, out.validated) == (2, 2) and set(_states(pg).values()) == {"validated"}
    assert quarantine.count(pg) == 0
