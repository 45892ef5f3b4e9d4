"""The shared per-file loop: one transaction a file, skip by sha256, an unreadable file quarantined
without its content, the tallies always present, the progress ticking once a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from medkb.db.postgres import execute, fetch_all
from medkb.errors import SourceFileError
from medkb.sources.pseudonym import Pseudonymiser
from medkb.staging.documents import StageCounts
from medkb.staging.ingest import IngestFailed
from medkb.staging.record_files import stage_record_files

pytestmark = pytest.mark.integration
SOURCE = "test-files"


def _stage(conn: Any, path: Path, pseudo: Pseudonymiser) -> tuple[StageCounts, dict[str, int]]:
    text = path.read_text()
    execute(conn, "INSERT INTO source_watermarks (source, position, run_id) VALUES (%s, %s, %s)",
            (f"{SOURCE}-{len(text)}", "written before the file's fault", "probe"))
    if text.startswith("bad"):  # what was written above must roll back with the file
        raise SourceFileError(f"{pseudo.file_label(path.name)}: not a record file")
    return StageCounts(staged=len(text)), {"items": 1}


def test_skips_quarantines_and_ticks_once_a_file(pg, settings, tmp_path: Path) -> None:
    good, bad = tmp_path / "patient-jane-doe.txt", tmp_path / "patient-john-roe.txt"
    good.write_text("abc")
    bad.write_text("bad, and private")
    ticks: list[int] = []
    first = stage_record_files(settings, SOURCE, [good, bad], "run-1", _stage, tallies=("items",),
                               progress=ticks.append)
    assert first == {**StageCounts(staged=3, quarantined=1).as_dict(), "items": 1, "files": 2,
                     "files_skipped": 0, "files_failed": 1}
    assert ticks == [1, 1]
    pg.commit()
    q = fetch_all(pg, "SELECT source_key, payload FROM quarantine WHERE source = %s", (SOURCE,))
    assert len(q) == 1 and "john" not in str(q[0]) and "private" not in str(q[0])
    assert q[0]["payload"]["size"] == len("bad, and private")
    names = [r["name"] for r in fetch_all(pg, "SELECT name FROM ingested_files WHERE source = %s", (SOURCE,))]
    assert names == [Pseudonymiser(settings.pseudonym_key).file_label(good.name)]
    written = fetch_all(pg, "SELECT source FROM source_watermarks WHERE run_id = 'probe'")
    assert [r["source"] for r in written] == [f"{SOURCE}-3"]  # the bad file's write rolled back

    ticks.clear()
    again = stage_record_files(settings, SOURCE, [good], "run-2", _stage, tallies=("items",), progress=ticks.append)
    assert again["files_skipped"] == 1 and again["staged"] == 0 and again["items"] == 0 and ticks == [1]


def test_every_file_unreadable_fails_the_run_naming_the_files(pg, settings, tmp_path: Path) -> None:
    bad = tmp_path / "one.txt"
    bad.write_text("bad")
    with pytest.raises(IngestFailed, match="test-files: none of the 1 widgets could be read"):
        stage_record_files(settings, SOURCE, [bad], "run-1", _stage, what="widgets")
