"""The nightly refresh, one function per stage. Each DAG task calls one of these.

Every hand-off goes through a store (Postgres state columns, Neo4j), never through task
memory, so any stage can be retried alone and re-running a whole night changes nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from medkb.db.postgres import connect
from medkb.kb.client import GraphClient
from medkb.kb.documents import merge_documents, record_run
from medkb.settings import Settings
from medkb.sources.sample_data import BASELINE, fetch_medline_sample
from medkb.staging import documents as staged
from medkb.staging.ingest import ingest_medline_files
from medkb.staging.runs import finish_run, start_run

log = logging.getLogger(__name__)
KIND = "nightly_refresh"


def begin(settings: Settings, run_id: str, params: dict[str, Any]) -> str:
    with connect(settings) as conn:
        start_run(conn, run_id, KIND, params)
    return run_id


def ingest_literature(
    settings: Settings, run_id: str, files: list[str] | None = None, limit: int | None = None
) -> dict[str, int]:
    """Stage MEDLINE files (default: the bundled baseline sample)."""
    paths = [Path(f) for f in files] if files else [
        p for p in fetch_medline_sample(settings.data_dir) if p.name == BASELINE
    ]
    counts = ingest_medline_files(settings, paths, run_id, limit=limit)
    log.info("ingest: %s", counts)
    return counts


def validate_literature(settings: Settings, run_id: str, max_failure_rate: float | None = None) -> dict[str, int]:
    """Great Expectations literature suite over staged rows: failures to the quarantine, the rest validated.

    Raises ValidationFailed (the task fails loudly, with a summary) when more than `max_failure_rate`
    (default MEDKB_MAX_FAILURE_RATE, else 10 %) of the batch fails.
    """
    from medkb.validation.literature import validate_staged_literature

    with connect(settings) as conn:
        outcome = validate_staged_literature(conn, run_id, max_failure_rate)
    log.info("validate: %s", outcome.as_dict())
    return outcome.as_dict()


def extract_literature(settings: Settings, run_id: str) -> dict[str, int]:
    """Skeleton: moves validated rows to extracted. The NER stage replaces this."""
    with connect(settings) as conn:
        n = staged.advance_state(conn, "validated", "extracted")
    return {"extracted": n}


def load_graph(settings: Settings, run_id: str, batch_size: int = 2000) -> dict[str, int]:
    """Write Document nodes for extracted rows, then mark those rows loaded."""
    with connect(settings) as conn:
        rows = staged.documents_in_state(conn, "extracted")
        with GraphClient(settings.neo4j) as graph:
            counts = merge_documents(graph, rows, run_id, batch_size=batch_size)
        staged.advance_state(conn, "extracted", "loaded", [(r["source"], r["source_key"], r["version"]) for r in rows])
    return {"documents": len(rows), **{k: v for k, v in counts.items() if v}}


def finish(settings: Settings, run_id: str, counts: dict[str, Any], status: str = "succeeded") -> dict[str, Any]:
    with connect(settings) as conn:
        finish_run(conn, run_id, status, counts)
        by_state = staged.count_by_state(conn)
    with GraphClient(settings.neo4j) as graph:
        record_run(graph, run_id, {"kind": KIND, "status": status, **_flatten(counts)})
        docs = graph.read("MATCH (d:Document) RETURN count(d) AS n")[0]["n"]
    return {"run_id": run_id, "status": status, "staged_by_state": by_state, "graph_documents": docs}


def _flatten(counts: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in counts.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}_"))
        elif isinstance(v, (int, float, str, bool)):
            out[f"{prefix}{k}"] = v
    return out
