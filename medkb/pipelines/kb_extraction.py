"""The KB refresh's extraction stage in chunks, so that the DAG maps one task instance per chunk.

`plan_extraction` splits the validated documents into chunks of document keys (a few hundred per
chunk, never more than MAX_CHUNKS chunks: Airflow's `[core] max_map_length` is 1024);
`extract_chunk` extracts one chunk. Both hand over through Postgres like every stage: a chunk
extracts only its documents still `validated`, committing per batch, so a retried or re-run chunk
redoes at most one batch and a re-run night extracts nothing twice.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from typing import Any

from medkb.db.postgres import connect, fetch_all
from medkb.settings import Settings
from medkb.staging import documents as staged

log = logging.getLogger(__name__)
CHUNK_SIZE = 300
MAX_CHUNKS = 1000
_EXTRACTORS: dict[tuple[str, str], Any] = {}

_BY_KEYS = """
SELECT d.source, d.source_key, d.version, d.title, d.abstract, d.language, d.journal, d.pub_year,
       d.mesh_terms, d.content_hash, d.run_id
FROM staged_documents d JOIN (SELECT * FROM unnest(%s::text[], %s::text[], %s::int[]) AS k(source, source_key, version)) k
  ON d.source = k.source AND d.source_key = k.source_key AND d.version = k.version
WHERE d.state = 'validated' AND NOT d.retracted
ORDER BY d.source, d.source_key
"""


def plan_extraction(settings: Settings, run_id: str, chunk_size: int = CHUNK_SIZE,
                    limit: int | None = None) -> list[list[list[Any]]]:
    """The validated documents' (source, key, version) keys in chunks of `chunk_size`, or larger
    chunks when there would be more than MAX_CHUNKS. Empty when nothing is new."""
    with connect(settings) as conn:
        keys = staged.keys_of(staged.documents_in_state(conn, "validated", limit))
    if not keys:
        return []
    size = max(chunk_size, math.ceil(len(keys) / MAX_CHUNKS))
    chunks = [[list(k) for k in keys[i : i + size]] for i in range(0, len(keys), size)]
    log.info("extract %s: %d documents in %d chunks of <= %d", run_id, len(keys), len(chunks), size)
    return chunks


def serving_extractor(settings: Settings, conn: Any, precision: str = "auto") -> Any:
    """The serving extractor, built once per process and champion (dag.test and a worker running
    several chunks reuse it; a new champion gets a new one)."""
    from medkb.nlp.serving import build_extractor
    from medkb.registry import champion
    from medkb.registry.release import ensure_shipped_models

    if settings.extractor == "model" and champion(conn) is None:
        ensure_shipped_models(settings, conn)  # before the key, so the import does not cost a second build
    champ = champion(conn)
    key = (f"{settings.pg_uri}|{settings.extractor}|{champ.version if champ else '-'}", precision)
    if key not in _EXTRACTORS:
        _EXTRACTORS.clear()
        _EXTRACTORS[key] = build_extractor(settings, conn, precision=precision)
    return _EXTRACTORS[key]


def extract_chunk(settings: Settings, run_id: str, keys: Sequence[Sequence[Any]], batch_size: int = 64,
                  precision: str = "auto") -> dict[str, Any]:
    """Extract the chunk's documents that are still `validated`; each batch's rows and its state
    change commit together."""
    from medkb.nlp.extract import SourceDoc
    from medkb.nlp.store import write_extractions

    counts: dict[str, Any] = {"extracted": 0, "mentions": 0, "assertions": 0}
    if not keys:
        return counts
    sources, skeys, versions = (list(col) for col in zip(*keys, strict=True))
    with connect(settings) as conn:
        rows = fetch_all(conn, _BY_KEYS, (sources, skeys, [int(v) for v in versions]))
        if not rows:
            return counts
        extractor = serving_extractor(settings, conn, precision)
        for b in range(0, len(rows), batch_size):
            batch = rows[b : b + batch_size]
            written = write_extractions(conn, extractor.extract([SourceDoc.from_staged(r) for r in batch]),
                                        run_id, extractor.version)
            counts["extracted"] += staged.advance_state(conn, "validated", "extracted", staged.keys_of(batch))
            counts["mentions"] += written["mentions"]
            counts["assertions"] += written["assertions"]
            conn.commit()  # a retry resumes after the last finished batch
    return {**counts, "model": extractor.version}


def sum_counts(results: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The chunks' counts added up (the model: the one they used; several if a champion changed)."""
    total: dict[str, Any] = {"extracted": 0, "mentions": 0, "assertions": 0, "chunks": 0}
    models: set[str] = set()
    for r in results or []:
        total["chunks"] += 1
        for k in ("extracted", "mentions", "assertions"):
            total[k] += int(r.get(k, 0))
        if r.get("model"):
            models.add(r["model"])
    total["model"] = ",".join(sorted(models))
    return total
