"""Stage MEDLINE files into Postgres: parse, upsert in batches, advance the watermark."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable
from pathlib import Path

from medkb.db.postgres import connect
from medkb.settings import Settings
from medkb.sources.medline import SOURCE, read_medline
from medkb.sources.records import Citation, Retraction
from medkb.staging.documents import StageCounts, retract, stage_citations
from medkb.staging.runs import set_watermark

log = logging.getLogger(__name__)
BATCH = 2000


def ingest_medline_files(
    settings: Settings, files: Iterable[Path], run_id: str, limit: int | None = None
) -> dict[str, int]:
    """Stage each file in one transaction together with its watermark, so a crash leaves both or neither.

    `limit` caps the citations taken from each file (a slice for demos and tests).
    """
    total = StageCounts()
    for path in files:
        records = read_medline(path)
        if limit is not None:
            records = itertools.islice(records, limit)
        file_counts = StageCounts()
        with connect(settings) as conn:
            batch: list[Citation] = []
            retractions: list[Retraction] = []
            for rec in records:
                if isinstance(rec, Retraction):
                    retractions.append(rec)
                    continue
                batch.append(rec)
                if len(batch) >= BATCH:
                    _add(file_counts, stage_citations(conn, _dedupe(batch), run_id))
                    batch = []
            _add(file_counts, stage_citations(conn, _dedupe(batch), run_id))
            file_counts.retracted += retract(conn, retractions, run_id)
            set_watermark(conn, SOURCE, Path(path).name, run_id)
        log.info("%s: %s", Path(path).name, file_counts.as_dict())
        _add(total, file_counts)
    return total.as_dict()


def _dedupe(batch: list[Citation]) -> list[Citation]:
    """One row per (key, version) per statement: Postgres refuses to upsert a key twice in one."""
    seen: dict[tuple[str, int], Citation] = {}
    for c in batch:
        seen[(c.key, c.version)] = c
    return list(seen.values())


def _add(total: StageCounts, part: StageCounts) -> None:
    for k, v in part.as_dict().items():
        setattr(total, k, getattr(total, k) + v)
