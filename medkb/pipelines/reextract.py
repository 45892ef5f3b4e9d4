"""Re-extraction: the documents already in the graph, extracted again by the serving model.

After a promotion the graph's facts must be what the champion says (issue 17). `reextract` takes
the loaded documents whose current extraction is by another model (optionally only those staged
since a day), and per batch of documents: extracts them, writes the rows to Postgres (the older
model's rows of those documents become superseded in that transaction), reads back the current
rows and loads them (the graph supersedes the older evidence in the transaction that writes the
new), recomputes the summaries of the assertions those documents touch, and only then commits
Postgres. So a batch is done when, and only when, Postgres says so: a run killed anywhere is
re-run (same run id and as-of day, found again in `pipeline_runs`) and redoes at most one batch;
the result equals an uninterrupted run's.

`rollback(settings, run_id)` undoes a re-extraction run in the graph (kb/rollback.py: its
evidence goes, the superseded evidence is current again exactly as it was) and in Postgres.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from medkb.db.postgres import connect, execute, fetch_all
from medkb.kb.client import GraphClient
from medkb.kb.documents import record_run
from medkb.kb.rollback import rollback_run
from medkb.kb.summary import recompute
from medkb.kb.supersede import assertions_of_documents, deleted_evidence_assertions
from medkb.nlp.extract import SourceDoc
from medkb.nlp.supersede import current_models, revert_run
from medkb.settings import Settings
from medkb.staging.runs import finish_run, get_run, start_run
from medkb.vocabulary import doc_id

log = logging.getLogger(__name__)
KIND = "reextract"


class ReextractError(RuntimeError):
    """A re-extraction cannot start or cannot be rolled back; the message says why and what to do."""


@dataclass(frozen=True)
class ReextractSummary:
    """What one call did. `documents` counts those extracted and loaded by this call (a resumed run
    counts only what was left); the `*_s` fields split its time by step."""

    run_id: str
    model: str
    as_of: str
    since: str | None
    resumed: bool
    documents: int
    mentions: int
    assertions: int
    superseded_rows: int
    superseded_documents: int
    batches: int
    extract_s: float
    store_s: float
    load_s: float
    summary_s: float
    extra: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def documents_to_reextract(conn: Any, model: str, since: str | None = None) -> list[dict[str, Any]]:
    """Loaded, non-retracted documents (their latest version), staged on or after `since` when given,
    whose current extraction is not by `model`; ordered by key, so batches are reproducible."""
    rows = fetch_all(
        conn,
        """SELECT DISTINCT ON (source, source_key) source, source_key, version, title, abstract
           FROM staged_documents
           WHERE state = 'loaded' AND NOT retracted AND (%(since)s::date IS NULL OR staged_at >= %(since)s::date)
           ORDER BY source, source_key, version DESC""",
        {"since": since},
    )
    current = current_models(conn, [doc_id(r["source_key"]) for r in rows])
    return [r for r in rows if current.get(doc_id(r["source_key"])) != model]


def serves(version: str, model: str) -> bool:
    """Is `model` the serving extractor's `version`? With a relation champion the version is
    "NER+RE" (medkb.nlp.extract), and its NER part alone names it too: the refinement DAG passes the
    NER champion it just promoted."""
    return model == version or version.partition("+")[0] == model


def _serving_extractor(settings: Settings, conn: Any) -> Any:
    from medkb.nlp.serving import build_extractor

    return build_extractor(settings, conn)


def _resume(conn: Any, run_id: str | None, model: str) -> dict[str, Any] | None:
    """The run to continue: the given one if it exists, else the latest unfinished one for `model`."""
    if run_id is not None:
        run = get_run(conn, run_id)
        if run is not None and run["kind"] != KIND:
            raise ReextractError(f"run {run_id!r} is a {run['kind']} run, not a re-extraction; pick another --run-id")
        if run is not None and run["params"].get("model") != model:
            raise ReextractError(f"run {run_id!r} re-extracted with {run['params'].get('model')!r}, not {model!r}; "
                                 "pick another --run-id")
        return run
    rows = fetch_all(
        conn,
        """SELECT * FROM pipeline_runs WHERE kind = %s AND status = 'running' AND params->>'model' = %s
           ORDER BY started_at DESC LIMIT 1""",
        (KIND, model),
    )
    return rows[0] if rows else None


def reextract(
    settings: Settings,
    since: str | date | None = None,
    model: str | None = None,
    *,
    run_id: str | None = None,
    as_of: str | None = None,
    batch_size: int = 256,
    extractor: Any = None,
    on_batch: Callable[[int], None] | None = None,
    progress: bool = True,
) -> ReextractSummary:
    """Re-extract and load, with the serving model, the documents whose evidence is another model's.

    `model`, when given, must be the serving model's version (the pipeline passes the version it
    just promoted, so a champion changed in between stops the run instead of loading the wrong
    model). `extractor` replaces the registry's (tests, benchmarks). An unfinished run for the
    same model is resumed, with its run id and as-of day. `on_batch(n)` runs after each batch commits.
    """
    from tqdm import tqdm

    since_s = since.isoformat() if isinstance(since, date) else since
    with connect(settings) as conn:
        extractor = extractor if extractor is not None else _serving_extractor(settings, conn)
        version = extractor.version
        if model is not None and not serves(version, model):
            raise ReextractError(
                f"model {model!r} is not the serving model ({version!r} is): evidence follows the champion; "
                f"promote {model} first (`medkb model promote {model}`), or leave out --model"
            )
        run = _resume(conn, run_id, version)
        if run is not None:
            run_id, params = run["run_id"], run["params"]
            as_of, since_s = params["as_of"], params.get("since")
        else:
            run_id = run_id or f"{KIND}__{version}__{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}"
            as_of = as_of or datetime.now(UTC).date().isoformat()
        start_run(conn, run_id, KIND, {"model": version, "as_of": as_of, "since": since_s})
        conn.commit()
        docs = documents_to_reextract(conn, version, since_s)
        log.info("reextract %s: %d documents with %s (as of %s%s)", run_id, len(docs), version, as_of,
                 ", resumed" if run is not None else "")
        with GraphClient(settings.neo4j) as graph:
            record_run(graph, run_id, {"kind": KIND, "status": "running", "model": version, "as_of": as_of})
            counts = _run_batches(conn, graph, extractor, docs, run_id, version, as_of, batch_size, on_batch,
                                  tqdm(total=len(docs), desc="reextract", unit="doc", mininterval=5, disable=not progress))
            t0 = time.monotonic()
            # assertions whose only evidence in a document was removed (same model, now without it)
            counts["recomputed"] += recompute(graph, deleted_evidence_assertions(graph, run_id), run_id)
            counts["summary_s"] += time.monotonic() - t0
            summary = ReextractSummary(
                run_id=run_id, model=version, as_of=as_of, since=since_s, resumed=run is not None,
                documents=counts.pop("documents"), mentions=counts.pop("mentions"), assertions=counts.pop("assertions"),
                superseded_rows=counts.pop("superseded_rows"), superseded_documents=counts.pop("superseded_documents"),
                batches=counts.pop("batches"), extract_s=round(counts.pop("extract_s"), 2),
                store_s=round(counts.pop("store_s"), 2), load_s=round(counts.pop("load_s"), 2),
                summary_s=round(counts.pop("summary_s"), 2), extra={k: int(v) for k, v in counts.items()},
            )
            finish_run(conn, run_id, "succeeded", summary.as_dict())
            conn.commit()
            record_run(graph, run_id, {"kind": KIND, "status": "succeeded", "model": version,
                                       "reextracted_documents": summary.documents})
    return summary


def _run_batches(conn: Any, graph: GraphClient, extractor: Any, docs: list[dict[str, Any]], run_id: str, version: str,
                 as_of: str, batch_size: int, on_batch: Callable[[int], None] | None, bar: Any) -> dict[str, float]:
    from medkb.nlp.store import write_extractions

    counts: dict[str, float] = dict.fromkeys(
        ("documents", "mentions", "assertions", "superseded_rows", "superseded_documents", "batches", "rejected",
         "quarantined", "recomputed", "extract_s", "store_s", "load_s", "summary_s"), 0)
    with bar:
        for b in range(0, len(docs), max(1, batch_size)):
            chunk = docs[b : b + batch_size]
            t0 = time.monotonic()
            source = [SourceDoc.from_staged(r) for r in chunk]
            results = extractor.extract(source)
            t1 = time.monotonic()
            written = write_extractions(conn, results, run_id, version)  # supersedes older rows; not committed
            t2 = time.monotonic()
            ids = [d.doc_id for d in source]
            loaded = _load_current(conn, graph, run_id, ids, as_of)
            t3 = time.monotonic()
            counts["recomputed"] += recompute(graph, assertions_of_documents(graph, ids), run_id)
            conn.commit()  # the batch is done: a re-run skips these documents
            t4 = time.monotonic()
            for key in ("mentions", "assertions", "superseded_rows", "superseded_documents"):
                counts[key] += written.get(key, 0)
            counts["rejected"] += loaded.get("rejected", 0)
            counts["quarantined"] += loaded.get("quarantined", 0)
            counts["documents"] += len(chunk)
            counts["batches"] += 1
            counts["extract_s"] += t1 - t0
            counts["store_s"] += t2 - t1
            counts["load_s"] += t3 - t2
            counts["summary_s"] += t4 - t3
            bar.update(len(chunk))
            if on_batch is not None:
                on_batch(len(chunk))
    return counts


def _load_current(conn: Any, graph: GraphClient, run_id: str, ids: list[str], as_of: str) -> dict[str, int]:
    """Read back the documents' current rows (what a later night reads) and load them; records the
    graph cannot hold go to the quarantine (in the batch's transaction). Summaries: the caller."""
    from medkb.kb.checks import Unloadable, quarantine_entries
    from medkb.kb.loader import load_extractions
    from medkb.nlp.store import read_extractions
    from medkb.staging import quarantine

    held = 0

    def to_quarantine(rejected: list[Unloadable]) -> None:
        nonlocal held
        held = quarantine.put(conn, quarantine_entries(rejected), run_id) if rejected else 0

    mentions, assertions = read_extractions(conn, doc_ids=ids)
    current = {d: [m] for d, m in current_models(conn, ids).items()}
    counts = load_extractions(graph, mentions, assertions, run_id, as_of=as_of, on_rejected=to_quarantine,
                              current=current, summaries=False)
    return {**counts, "quarantined": held}


def is_reextraction(settings: Settings, run_id: str) -> bool:
    with connect(settings) as conn:
        run = get_run(conn, run_id)
    return run is not None and run["kind"] == KIND


def rollback(settings: Settings, run_id: str, force: bool = False) -> dict[str, int]:
    """Undo a re-extraction run: in the graph (its evidence and what it created go; the evidence it
    superseded is current again, exactly as before) and in Postgres (its rows go; the rows it
    superseded are current again). The run is marked failed (counts.rolled_back), so it is never resumed."""
    with connect(settings) as conn:
        run = get_run(conn, run_id)
        if run is None or run["kind"] != KIND:
            raise ReextractError(f"run {run_id!r} is not a re-extraction run; `medkb kb rollback RUN` undoes other runs")
        with GraphClient(settings.neo4j) as graph:
            counts = rollback_run(graph, run_id, force=force)
        counts.update({f"pg_{k}": v for k, v in revert_run(conn, run_id).items()})
        execute(conn, """UPDATE pipeline_runs SET status = 'failed', finished_at = now(),
                         counts = counts || '{"rolled_back": true}'::jsonb WHERE run_id = %s""", (run_id,))
        conn.commit()
    return counts
