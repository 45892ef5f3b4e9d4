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
from medkb.kb.refresh import apply_retractions, load_documents_knowledge
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


def ingest_records(
    settings: Settings, run_id: str, drop_dir: str | None = None, max_failure_rate: float | None = None
) -> dict[str, Any]:
    """Stage the FHIR bundles in the drop folder (default <data_dir>/fhir/inbox), pseudonymised,
    then validate them with the records suite. Files already ingested are skipped."""
    from medkb.staging.records import ingest_fhir_paths
    from medkb.validation.records import validate_staged_cases, validate_staged_records

    inbox = Path(drop_dir) if drop_dir else settings.data_dir / "fhir" / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    counts: dict[str, Any] = {"files": 0}
    if any(inbox.rglob("*.json")):
        counts = ingest_fhir_paths(settings, [inbox], run_id)
    with connect(settings) as conn:
        cases = validate_staged_cases(conn, run_id, max_failure_rate)
    with connect(settings) as conn:
        outcome = validate_staged_records(conn, run_id, max_failure_rate)
    log.info("records: %s, validation %s, cases %s", counts, outcome.as_dict(), cases.as_dict())
    return {**counts, "validation": outcome.as_dict(), "case_validation": cases.as_dict()}


def ingest_pubmed(settings: Settings, run_id: str, until: str, first_day: str | None = None,
                  term: str = "") -> dict[str, Any]:
    """Stage PubMed from the day after the last completed window up to `until` (YYYY-MM-DD).

    Resumes a window a failed run left half-done. Settings for NCBI come from the environment:
    MEDKB_NCBI_API_KEY, MEDKB_NCBI_EMAIL, MEDKB_NCBI_TOOL, MEDKB_EUTILS_URL.
    """
    import datetime as dt

    from medkb.staging.pubmed import ingest_pubmed_window, next_window

    with connect(settings) as conn:
        window = next_window(conn, dt.date.fromisoformat(until),
                             dt.date.fromisoformat(first_day) if first_day else None)
    if window is None:
        return {"found": 0, "up_to_date": True}
    return ingest_pubmed_window(settings, *window, run_id, term=term)


def extract_literature(
    settings: Settings, run_id: str, limit: int | None = None, batch_size: int = 64, precision: str = "auto"
) -> dict[str, Any]:
    """NER (the registry's champion, else the dictionary extractor), normalisation and INDUCES
    relations for the validated documents; rows go to extracted_mentions/extracted_assertions
    (replaced per document and model) and each batch's documents advance to `extracted`.
    precision: fp32 | bf16 | int8 | auto (bf16 on CPUs with native bf16; see medkb/nlp/ner.py)."""
    from tqdm import tqdm

    from medkb.nlp.extract import SourceDoc
    from medkb.nlp.store import write_extractions
    from medkb.training.serving import build_extractor

    counts = {"extracted": 0, "mentions": 0, "assertions": 0}
    with connect(settings) as conn:
        rows = staged.documents_in_state(conn, "validated", limit)
        if not rows:
            return counts
        extractor = build_extractor(settings, conn, precision=precision)
        log.info("extract: %d documents with %s", len(rows), extractor.version)
        with tqdm(total=len(rows), desc="extract", unit="doc", mininterval=5) as bar:
            for b in range(0, len(rows), batch_size):
                chunk = rows[b : b + batch_size]
                docs = [SourceDoc(f"PMID:{r['source_key']}", r["title"] or "", r["abstract"] or "", r["source"], r["version"])
                        for r in chunk]
                written = write_extractions(conn, extractor.extract(docs), run_id, extractor.version)
                counts["extracted"] += staged.advance_state(
                    conn, "validated", "extracted", [(r["source"], r["source_key"], r["version"]) for r in chunk]
                )
                counts["mentions"] += written["mentions"]
                counts["assertions"] += written["assertions"]
                conn.commit()  # a retry resumes after the last finished batch
                bar.update(len(chunk))
    return {**counts, "model": extractor.version}


def load_graph(settings: Settings, run_id: str, batch_size: int = 2000) -> dict[str, int]:
    """Write Document nodes for extracted rows, then their mentions and assertions (kb/refresh.py),
    then remove the evidence of retracted citations; finally mark the rows loaded."""
    with connect(settings) as conn:
        rows = staged.documents_in_state(conn, "extracted")
        with GraphClient(settings.neo4j) as graph:
            counts = merge_documents(graph, rows, run_id, batch_size=batch_size)
            knowledge = load_documents_knowledge(conn, graph, run_id, rows, batch_size=batch_size)
            retracted = apply_retractions(conn, graph, run_id)
        staged.advance_state(conn, "extracted", "loaded", [(r["source"], r["source_key"], r["version"]) for r in rows])
    return {"documents": len(rows), **{k: v for k, v in counts.items() if v},
            **{f"kb_{k}": v for k, v in {**knowledge, **retracted}.items()}}


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
