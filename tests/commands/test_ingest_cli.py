"""`medkb ingest ...` and `medkb quarantine ...` end to end against the test Postgres."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from medkb.cli import main
from tests.sources.eutils_replay import Script, replay

pytestmark = pytest.mark.integration
FIX = Path(__file__).parents[1] / "fixtures"


def _counts(out: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"(staged|updated|unchanged|retracted|quarantined) (\d+)", out)}


def test_ingest_each_file_source_and_rerun(pg, capsys, tmp_path: Path) -> None:
    assert main(["ingest", "medline", str(FIX / "medline" / "sample.xml")]) == 0
    assert _counts(capsys.readouterr().out) == {"staged": 4, "updated": 0, "unchanged": 0, "retracted": 0,
                                                "quarantined": 0}
    assert main(["ingest", "pubtator", str(FIX / "literature" / "sample.pubtator")]) == 0
    assert _counts(capsys.readouterr().out)["staged"] == 2
    assert main(["ingest", "bioc", str(FIX / "literature" / "sample.bioc.xml")]) == 0
    assert _counts(capsys.readouterr().out)["staged"] == 2
    assert main(["ingest", "fhir", str(FIX / "fhir")]) == 0
    fhir = _counts(capsys.readouterr().out)
    assert fhir["staged"] > 100 and fhir["quarantined"] == 0
    assert main(["ingest", "medline", str(FIX / "medline" / "sample.xml")]) == 0
    assert _counts(capsys.readouterr().out)["unchanged"] == 4


def test_bad_file_quarantined_then_shown_and_released(pg, capsys, tmp_path: Path) -> None:
    bad = tmp_path / "broken.xml.gz"
    bad.write_bytes(b"not gzip at all")
    good = FIX / "medline" / "sample.xml"
    assert main(["ingest", "medline", str(bad), str(good)]) == 0  # one bad file does not fail the run
    assert _counts(capsys.readouterr().out)["quarantined"] == 1
    assert main(["quarantine", "list"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[0]
    assert "medline:broken.xml.gz" in line and "readable_file" in line
    entry = line.split()[0]
    assert main(["quarantine", "show", entry]) == 0
    shown = capsys.readouterr().out
    assert "not gzip" in shown and '"size": 15' in shown
    assert main(["quarantine", "release", entry]) == 0
    assert "released" in capsys.readouterr().out
    assert main(["quarantine", "list"]) == 0 and "empty" in capsys.readouterr().out


def test_run_failure_exits_nonzero_with_one_line(pg, capsys, tmp_path: Path) -> None:
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    assert main(["ingest", "medline", str(empty)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("medkb ingest: error: medline: no file could be read: empty.xml: empty file")
    assert main(["quarantine", "show", "999999"]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_ingest_pubmed_window(pg, capsys) -> None:
    with replay(Script()) as url:
        rc = main(["ingest", "pubmed", "--from", "2025-09-27", "--to", "2025-11-26", "--base-url", url,
                   "--batch-size", "10000"])
    assert rc == 0
    out = capsys.readouterr().out
    assert _counts(out)["staged"] > 5 and "found 42249" in out and "pages 5" in out
    assert main(["ingest", "pubmed", "--from", "2025-09-27", "--to", "2025-09-01"]) == 1
    assert "before --from" in capsys.readouterr().err
