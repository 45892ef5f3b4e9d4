"""The per-file loop the patient-record sources share (FHIR bundles, phenopacket files).

One transaction per file: what the source's `stage` writes, the file's `ingested_files` row and
the watermark commit together. A file already ingested with the same sha256 is skipped, so a drop
folder can be re-scanned every night. An unreadable file gets one quarantine entry without its
content (it may identify a patient) and the other files go on; only when every file fails does
the run fail. File names carry patient or case ids, so only their pseudonymised label is stored
or logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from medkb.db.postgres import connect, execute
from medkb.errors import SourceFileError
from medkb.settings import Settings
from medkb.sources.pseudonym import Pseudonymiser
from medkb.staging import quarantine
from medkb.staging.documents import StageCounts
from medkb.staging.ingest import IngestFailed, add_counts, file_sha256
from medkb.staging.runs import set_watermark

log = logging.getLogger(__name__)

# Stages one readable file in the caller's transaction: its counts and any source-specific tallies.
StageFile = Callable[[Any, Path, Pseudonymiser], tuple[StageCounts, dict[str, int]]]


def stage_record_files(settings: Settings, source: str, files: Sequence[Path], run_id: str, stage: StageFile, *,
                       tallies: Sequence[str] = (), what: str = "files",
                       progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Stage each file with `stage`; return the counts, the `tallies` summed, and the file counts.
    `progress` ticks once a file; `what` names the files in the all-failed error."""
    pseudo = Pseudonymiser(settings.pseudonym_key)
    total = StageCounts()
    summed = dict.fromkeys(tallies, 0)
    skipped = failed = 0
    for path in files:
        label = pseudo.file_label(path.name)
        digest = file_sha256(path)
        try:
            with connect(settings) as conn:
                if digest and execute(conn, "SELECT 1 FROM ingested_files WHERE source = %s AND name = %s "
                                      "AND sha256 = %s", (source, label, digest)):
                    skipped += 1
                    counts = StageCounts()
                else:
                    counts, extra = stage(conn, path, pseudo)
                    for k, v in extra.items():
                        summed[k] = summed.get(k, 0) + v
                    execute(conn, "INSERT INTO ingested_files (source, name, sha256, run_id, counts) "
                            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                            (source, label, digest, run_id, json.dumps(counts.as_dict())))
                    set_watermark(conn, source, label, run_id)
        except SourceFileError as exc:
            log.error("%s: %s", source, exc)
            failed += 1
            with connect(settings) as conn:
                quarantine.put(conn, [quarantine.QuarantineEntry(
                    source=source, key=label, version=1, stage="ingest",
                    reasons=[{"expectation": "readable_file", "message": str(exc)}],
                    payload={"file": label, "size": path.stat().st_size if path.exists() else None,
                             "sha256": digest},  # no content: it may identify the patient
                )], run_id)
            counts = StageCounts(quarantined=1)
        add_counts(total, counts)
        if progress:
            progress(1)
    if files and failed == len(files):
        raise IngestFailed(f"{source}: none of the {len(files)} {what} could be read; see `medkb quarantine list`")
    return {**total.as_dict(), **summed, "files": len(files), "files_skipped": skipped, "files_failed": failed}
