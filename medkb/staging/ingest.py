"""Stage literature files (MEDLINE, PubTator, BioC) into Postgres, one transaction per file.

Each file's rows, its watermark and its `ingested_files` row (name, sha256, the `limit` it was
read with) commit together, so a crash leaves all or none. A file that cannot be read is rolled
back and gets one quarantine entry naming the file and the reason; the other files go on. Records
a reader rejects go to the quarantine with their raw payload. A file in `rescanned` (a drop folder
the night scans again) that was already read whole with the same content is skipped, so a night
reads its new files only; a file named explicitly is always read again.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psycopg2.extras

from medkb.db.postgres import connect, execute, fetch_all
from medkb.errors import SourceFileError
from medkb.settings import Settings
from medkb.sources.citations import Citation, Retraction
from medkb.sources.medline import SOURCE, read_medline
from medkb.sources.rejected import Rejected
from medkb.staging import quarantine
from medkb.staging.documents import StageCounts, retract, stage_citations
from medkb.staging.runs import set_watermark

log = logging.getLogger(__name__)
BATCH = 2000

Reader = Callable[[Path], Iterator[Citation | Retraction | Rejected]]


class IngestFailed(RuntimeError):
    """The run as a whole failed (every input was unreadable); the message lists why."""


def ingest_medline_files(
    settings: Settings, files: Iterable[Path], run_id: str, limit: int | None = None,
    rescanned: Collection[str | Path] = (),
) -> dict[str, int]:
    """Stage MEDLINE files. `limit` caps the records taken from each file (for demos and tests);
    files in `rescanned` already read with the same content (and no smaller limit) are skipped."""
    return ingest_files(settings, files, run_id, read_medline, SOURCE, limit=limit, rescanned=rescanned)


def ingest_files(
    settings: Settings,
    files: Iterable[Path],
    run_id: str,
    reader: Reader,
    source: str,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
    rescanned: Collection[str | Path] = (),
) -> dict[str, int]:
    """Stage each file in its own transaction with its watermark; return staged/updated/... counts.

    `rescanned`: files of a drop folder scanned again every night; one already read with the same
    name and content, whole or with a limit at least `limit`, is skipped (counted in files_skipped).
    """
    total = StageCounts()
    failed: list[str] = []
    n_files = skipped = 0
    again = {str(Path(p)) for p in rescanned}
    for path in files:
        path = Path(path)
        n_files += 1
        try:
            with connect(settings) as conn:
                digest = file_sha256(path)
                if str(path) in again and _already_read(conn, source, path.name, digest, limit):
                    skipped += 1
                    log.info("%s %s: already ingested with this content, skipped", source, path.name)
                    continue
                counts = stage_records(conn, _limited(reader(path), limit), run_id, progress)
                set_watermark(conn, source, path.name, run_id)
                _record_file(conn, source, path.name, digest, run_id, limit, counts)
        except SourceFileError as exc:
            log.error("%s: %s", source, exc)
            failed.append(str(exc))
            with connect(settings) as conn:
                quarantine.put(conn, [_file_entry(source, path, str(exc))], run_id)
            counts = StageCounts(quarantined=1)
        log.info("%s %s: %s", source, path.name, counts.as_dict())
        add_counts(total, counts)
    if n_files and len(failed) == n_files:
        raise IngestFailed(f"{source}: no file could be read: " + "; ".join(failed))
    return {**total.as_dict(), "files": n_files, "files_failed": len(failed), "files_skipped": skipped}


def file_sha256(path: Path) -> str:
    """The file's content hash; a file that cannot be opened is the reader's to report (empty here)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return ""
    return digest.hexdigest()


def _covers(read_with: int | None, limit: int | None) -> bool:
    """A read with limit `read_with` (None: whole file) took every record a read with `limit` takes."""
    return read_with is None or (limit is not None and read_with >= limit)


def _already_read(conn: Any, source: str, name: str, digest: str, limit: int | None) -> bool:
    if not digest:
        return False
    rows = fetch_all(conn, "SELECT counts FROM ingested_files WHERE source = %s AND name = %s AND sha256 = %s",
                     (source, name, digest))
    return bool(rows) and "limit" in rows[0]["counts"] and _covers(rows[0]["counts"]["limit"], limit)


def _record_file(conn: Any, source: str, name: str, digest: str, run_id: str, limit: int | None,
                 counts: StageCounts) -> None:
    """The file's `ingested_files` row, in its staging transaction; a read covering more replaces it."""
    if not digest:
        return
    body = json.dumps({**counts.as_dict(), "limit": limit})
    if execute(conn, "INSERT INTO ingested_files (source, name, sha256, run_id, counts) VALUES (%s, %s, %s, %s, %s) "
               "ON CONFLICT DO NOTHING", (source, name, digest, run_id, body)):
        return
    if not _already_read(conn, source, name, digest, limit):
        execute(conn, "UPDATE ingested_files SET run_id = %s, counts = %s, ingested_at = now() "
                "WHERE source = %s AND name = %s AND sha256 = %s", (run_id, body, source, name, digest))


def stage_records(
    conn: Any,
    records: Iterable[Citation | Retraction | Rejected],
    run_id: str,
    progress: Callable[[int], None] | None = None,
) -> StageCounts:
    """Stage a stream of reader output on one connection (the caller owns the transaction)."""
    counts = StageCounts()
    batch: list[Citation] = []
    retractions: list[Retraction] = []
    rejected: list[Rejected] = []

    def flush() -> None:
        kept, dupes, replaced = dedupe(batch)
        kept, dupes2, replaced2 = _dedupe_against_transaction(conn, kept, run_id)
        counts.duplicates += dupes + dupes2
        rejected.extend(replaced + replaced2)
        part = stage_citations(conn, kept, run_id)
        part.updated -= len(replaced2)  # replacing this file's own earlier entry is not an update
        add_counts(counts, part)
        if progress:
            progress(len(batch))
        batch.clear()

    for rec in records:
        if isinstance(rec, Retraction):
            retractions.append(rec)
        elif isinstance(rec, Rejected):
            rejected.append(rec)
        else:
            batch.append(rec)
            if len(batch) >= BATCH:
                flush()
    flush()
    counts.retracted += retract(conn, retractions, run_id)
    counts.quarantined += quarantine.put(conn, [rejected_entry(r) for r in rejected], run_id)
    return counts


def dedupe(batch: list[Citation]) -> tuple[list[Citation], int, list[Rejected]]:
    """One row per (source, key, version) per batch; Postgres refuses to upsert a key twice in one.

    An identical repeat is dropped (counted); a repeat with different content replaces the earlier
    entry (a record re-issued later in the same file wins), and the earlier one is quarantined so
    that nothing is dropped silently.
    """
    seen: dict[tuple[str, str, int], Citation] = {}
    replaced: list[Rejected] = []
    dupes = 0
    for c in batch:
        k = (c.source, c.key, c.version)
        prev = seen.get(k)
        if prev is not None:
            if prev.content_hash == c.content_hash:
                dupes += 1
                continue
            replaced.append(Rejected(
                source=c.source, key=c.key, version=c.version,
                reason=f"{c.origin}: {c.source} {c.key} v{c.version} appears twice in one batch with "
                       "different content; the later entry was staged, this earlier one held back",
                payload=_citation_payload(prev), origin=prev.origin, check="unique_in_file",
            ))
        seen[k] = c
    return list(seen.values()), dupes, replaced


_EARLIER = """
SELECT d.source, d.source_key AS key, d.version, d.title, d.abstract, d.language, d.journal, d.pub_year,
       d.mesh_terms, d.origin, d.content_hash
FROM staged_documents d JOIN (VALUES %s) AS k(source, key, version, origin, run_id)
  ON d.source = k.source AND d.source_key = k.key AND d.version = k.version AND d.origin = k.origin
     AND d.run_id = k.run_id
WHERE d.xmin = pg_current_xact_id()::xid
"""


def _dedupe_against_transaction(
    conn: Any, batch: list[Citation], run_id: str
) -> tuple[list[Citation], int, list[Rejected]]:
    """The same record in an earlier batch of this file: the rows this transaction already wrote.

    Finds them without keeping the file's keys in memory (which would grow with the file).
    """
    if not batch:
        return batch, 0, []
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        earlier = psycopg2.extras.execute_values(
            cur, _EARLIER, [(c.source, c.key, c.version, c.origin or None, run_id) for c in batch],
            page_size=len(batch), fetch=True,
        )
    seen = {(r["source"], r["key"], r["version"]): r for r in earlier}
    kept: list[Citation] = []
    replaced: list[Rejected] = []
    dupes = 0
    for c in batch:
        prev = seen.get((c.source, c.key, c.version))
        if prev is None:
            kept.append(c)
        elif prev["content_hash"] == c.content_hash:
            dupes += 1
        else:
            payload = {k: v for k, v in prev.items() if k != "content_hash"}
            replaced.append(Rejected(
                source=c.source, key=c.key, version=c.version,
                reason=f"{c.origin}: {c.source} {c.key} v{c.version} appears twice in one file with different "
                       "content; the later entry was staged, this earlier one held back",
                payload=payload, origin=c.origin, check="unique_in_file",
            ))
            kept.append(c)
    return kept, dupes, replaced


def rejected_entry(r: Rejected) -> quarantine.QuarantineEntry:
    return quarantine.QuarantineEntry(
        source=r.source, key=r.key, version=r.version, stage="ingest",
        reasons=[{"expectation": r.check, "message": r.reason, "origin": r.origin}],
        payload=r.payload,
    )


def _file_entry(source: str, path: Path, message: str) -> quarantine.QuarantineEntry:
    info: dict[str, Any] = {"file": str(path)}
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            head = fh.read(512)
            digest.update(head)
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        info.update(size=path.stat().st_size, sha256=digest.hexdigest(), head=head.hex())
    except OSError as exc:
        info["error"] = exc.strerror
    return quarantine.QuarantineEntry(
        source=source, key=path.name, version=1, stage="ingest",
        reasons=[{"expectation": "readable_file", "message": message}], payload=info,
    )


def _citation_payload(c: Citation) -> dict[str, Any]:
    body = asdict(c)
    body["mesh_terms"] = list(c.mesh_terms)
    return body


def _limited(records: Iterator[Any], limit: int | None) -> Iterator[Any]:
    return records if limit is None else itertools.islice(records, limit)


def add_counts(total: StageCounts, part: StageCounts) -> None:
    for k, v in part.as_dict().items():
        setattr(total, k, getattr(total, k) + v)
