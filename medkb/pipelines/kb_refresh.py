"""The knowledge-graph refresh (DAG medkb_kb_refresh, and `medkb refresh`): literature in,
validated, extracted, loaded; FHIR records staged beside it.

`STAGES` is the ordered list of stages; the DAG's tasks and the CLI both run them through
`run_stage`, so the two cannot drift apart. Every hand-off goes through a store (Postgres state
columns, Neo4j), never through task memory, so any stage can be retried alone and re-running a
whole night changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from medkb.db.postgres import connect
from medkb.settings import Settings
from medkb.staging import documents as staged
from medkb.staging.runs import finish_run, start_run

# The DAG file imports this module at parse time: the stages import the heavy rooms (nlp, kb,
# training, Great Expectations, the Neo4j driver) inside their bodies (bench/dag_parse.py checks).

log = logging.getLogger(__name__)
KIND = "nightly_refresh"
NO_SOURCE = (
    "run {run_id}: no literature source is configured, so the night has nothing to ingest. Give MEDLINE "
    "files (DAG param `medline_files` or `medline_drop_dir`, or `medkb refresh --file PATH`, repeatable, "
    "or `--medline-drop-dir DIR`) or turn PubMed on "
    "(DAG param `pubmed: true`, or `medkb refresh --pubmed`, with MEDKB_NCBI_EMAIL/MEDKB_NCBI_API_KEY set). "
    "The bundled sample is for the demo only: `make demo` passes it explicitly."
)


class NoLiteratureSource(RuntimeError):
    """The night was started with neither MEDLINE files nor PubMed; the message says how to set one."""


@dataclass(frozen=True)
class RefreshParams:
    """What one night is asked to do: the DAG's params, or `medkb refresh`'s options."""

    medline_files: tuple[str, ...] = ()
    medline_drop_dir: str | None = None  # a folder of MEDLINE files, taken beside medline_files
    limit: int | None = None  # at most N citations per file
    pubmed: bool = False
    pubmed_term: str = ""
    until: str | None = None  # YYYY-MM-DD, the end of the PubMed window (the DAG's logical date)
    fhir_drop_dir: str | None = None

    def literature_files(self) -> list[str]:
        """The given MEDLINE files, then the drop folder's, sorted (a missing folder holds none)."""
        return [*self.medline_files, *self.dropped_files()]

    def dropped_files(self) -> list[str]:
        """The drop folder's MEDLINE files, sorted: scanned every night, each read once per content."""
        if not (self.medline_drop_dir and Path(self.medline_drop_dir).is_dir()):
            return []
        folder = Path(self.medline_drop_dir)
        return sorted(str(p) for p in [*folder.glob("*.xml"), *folder.glob("*.xml.gz")])

    @property
    def has_literature_source(self) -> bool:
        return bool(self.medline_files or self.medline_drop_dir or self.pubmed)

    @classmethod
    def from_params(cls, params: Mapping[str, Any], until: str | None = None) -> RefreshParams:
        return cls(
            medline_files=tuple(params.get("medline_files") or ()),
            medline_drop_dir=params.get("medline_drop_dir"),
            limit=params.get("limit"),
            pubmed=bool(params.get("pubmed")),
            pubmed_term=params.get("pubmed_term") or "",
            until=until or params.get("until"),
            fhir_drop_dir=params.get("fhir_drop_dir"),
        )


def begin(settings: Settings, run_id: str, params: dict[str, Any]) -> str:
    """Record the night as running; NightLocked (naming the holder) while another night runs."""
    from medkb.pipelines.night_lock import acquire

    with connect(settings) as conn:
        acquire(conn, KIND, run_id)
        start_run(conn, run_id, KIND, params)
    return run_id


def ingest_literature(
    settings: Settings, run_id: str, files: list[str] | None = None, limit: int | None = None, *,
    configured: bool = False, rescanned: list[str] | None = None,
) -> dict[str, int]:
    """Stage the given MEDLINE files. With none, a source must still be configured (`configured`:
    a drop folder with nothing new, or PubMed, whose own stage fetches); otherwise the night fails
    with NoLiteratureSource, saying how to configure one. Files in `rescanned` (the drop folder's)
    already ingested with the same content are skipped: a night reads only what is new there."""
    if not files:
        if not configured:
            raise NoLiteratureSource(NO_SOURCE.format(run_id=run_id))
        return {"files": 0}
    from medkb.staging.ingest import ingest_medline_files

    counts = ingest_medline_files(settings, [Path(f) for f in files], run_id, limit=limit, rescanned=rescanned or ())
    log.info("ingest: %s", counts)
    return counts


def validate_literature(settings: Settings, run_id: str, max_failure_rate: float | None = None) -> dict[str, int]:
    """Great Expectations literature suite over staged rows: failures to the quarantine, the rest validated.

    Raises ValidationFailed (the task fails loudly, with a summary) when more than `max_failure_rate`
    (default MEDKB_MAX_FAILURE_RATE, else 10 %) of the batch fails.
    """
    import psycopg2

    from medkb.db.postgres import PostgresUnavailable
    from medkb.validation.literature import validate_staged_literature

    try:
        with connect(settings) as conn:  # one transaction: a lost connection keeps none of it
            outcome = validate_staged_literature(conn, run_id, max_failure_rate)
    except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise PostgresUnavailable(
            f"run {run_id}: validate_literature lost its Postgres connection ({first}); the validation "
            "transaction was rolled back, nothing of it was kept: retry the task once Postgres answers"
        ) from None
    log.info("validate: %s", outcome.as_dict())
    return outcome.as_dict()


def ingest_records(
    settings: Settings, run_id: str, drop_dir: str | None = None, max_failure_rate: float | None = None
) -> dict[str, Any]:
    """The FHIR stage of the records refresh (pipelines/records_refresh.py: the drop folder, default
    <data_dir>/fhir/inbox, pseudonymised, then validated; files already ingested are skipped), run
    beside the literature; its counts keyed as this pipeline has always keyed them."""
    from medkb.pipelines.records_refresh import ingest_fhir

    out = ingest_fhir(settings, run_id, drop_dir, max_failure_rate)
    out["validation"] = out.pop("record_validation")
    return out


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
    """NER (the registry's champion; the dictionary only when MEDKB_EXTRACTOR=dictionary),
    normalisation and relations for the validated documents: the DAG's plan_extraction and mapped
    extract_chunk run in one process, chunk after chunk (pipelines/kb_extraction.py).
    precision: fp32 | bf16 | int8 | auto (bf16 on CPUs with native bf16; see medkb/nlp/ner.py)."""
    from tqdm import tqdm

    from medkb.pipelines.kb_extraction import extract_chunk, plan_extraction, sum_counts

    chunks = plan_extraction(settings, run_id, limit=limit)
    with tqdm(total=sum(len(c) for c in chunks), desc="extract", unit="doc", mininterval=5) as bar:
        def run(chunk: list[list[Any]]) -> dict[str, Any]:
            counts = extract_chunk(settings, run_id, chunk, batch_size, precision)
            bar.update(len(chunk))
            return counts

        return sum_counts(run(c) for c in chunks)


def load_graph(settings: Settings, run_id: str, batch_size: int = 2000) -> dict[str, int]:
    """Document nodes for the extracted rows, then their mentions and assertions (the loader checks
    them once; the ones the graph cannot hold go to the quarantine once, here), then the evidence
    of citations retracted since the last load goes (the keys are marked taken, in the transaction
    that marks the rows loaded); finally the rows are marked loaded. Nothing here reads the whole
    corpus: the night pays for its own documents and retractions."""
    from medkb.kb.client import GraphClient
    from medkb.kb.documents import merge_documents
    from medkb.kb.retraction import retract_documents
    from medkb.vocabulary import doc_id

    with connect(settings) as conn:
        rows = staged.documents_in_state(conn, "extracted")
        with GraphClient(settings.neo4j) as graph:
            counts = merge_documents(graph, rows, run_id, batch_size=batch_size)
            knowledge = _load_knowledge(conn, graph, run_id, sorted({doc_id(r["source_key"]) for r in rows}), batch_size)
            retracted_keys = staged.pending_retractions(conn)
            retracted = (retract_documents(graph, [doc_id(k) for k in retracted_keys], run_id) if retracted_keys
                         else {"retracted_documents": 0})
        staged.mark_retractions_applied(conn, retracted_keys, run_id)
        staged.advance_state(conn, "extracted", "loaded", staged.keys_of(rows))
    return {"documents": len(rows), **{k: v for k, v in counts.items() if v},
            **{f"kb_{k}": v for k, v in {**knowledge, **retracted}.items()}}


def _load_knowledge(conn: Any, graph: Any, run_id: str, ids: list[str], batch_size: int) -> dict[str, int]:
    """The mentions and assertions the extract stage stored for these documents, into the graph."""
    from medkb.kb.checks import Unloadable, quarantine_entries
    from medkb.kb.loader import load_extractions
    from medkb.nlp.store import read_extractions
    from medkb.nlp.supersede import current_models
    from medkb.staging import quarantine

    if not ids:
        return {"mentions": 0, "evidence": 0}
    held = 0

    def to_quarantine(rejected: list[Unloadable]) -> None:
        nonlocal held
        held = quarantine.put(conn, quarantine_entries(rejected), run_id)

    mentions, assertions = read_extractions(conn, doc_ids=ids)  # current rows only: never a superseded one
    # each document's current extraction, also where it found nothing: older evidence is superseded
    current = {d: [model] for d, model in current_models(conn, ids).items()}
    counts = load_extractions(graph, mentions, assertions, run_id, batch_size=batch_size, on_rejected=to_quarantine,
                              current=current)
    return {**counts, "quarantined": held}


def finish(settings: Settings, run_id: str, counts: dict[str, Any], status: str = "succeeded") -> dict[str, Any]:
    from medkb.kb.client import GraphClient
    from medkb.kb.documents import record_run

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


@dataclass(frozen=True)
class Stage:
    """One stage of the night: `name` is its DAG task id, `key` where its counts go in the run's counts."""

    name: str
    key: str
    run: Callable[[Settings, str, RefreshParams], dict[str, Any]]


def _pubmed(settings: Settings, run_id: str, p: RefreshParams) -> dict[str, Any]:
    if not p.pubmed:
        return {"skipped": True}
    if not p.until:
        raise ValueError(f"run {run_id}: PubMed is on but no end day is given (`medkb refresh --until YYYY-MM-DD`)")
    return ingest_pubmed(settings, run_id, until=p.until, term=p.pubmed_term)


# In the order the CLI runs them; the DAG runs the same stages. FHIR records are the records
# refresh's (medkb_records_refresh); `ingest_records` below stays for callers of this module.
STAGES: tuple[Stage, ...] = (
    Stage("ingest_literature", "ingest",
          lambda s, r, p: ingest_literature(s, r, p.literature_files(), p.limit, configured=p.has_literature_source,
                                            rescanned=p.dropped_files())),
    Stage("ingest_pubmed", "pubmed", _pubmed),
    Stage("validate_literature", "validate", lambda s, r, p: validate_literature(s, r)),
    Stage("extract_literature", "extract", lambda s, r, p: extract_literature(s, r)),
    Stage("load_graph", "load", lambda s, r, p: load_graph(s, r)),
)
# A stage the DAG runs as other tasks than one of its name: extraction is planned, then mapped over
# chunks (pipelines/kb_extraction.py), so that a night's documents spread over task instances.
DAG_TASKS: dict[str, tuple[str, ...]] = {"extract_literature": ("plan_extraction", "extract_chunk")}


def run_stage(name: str, settings: Settings, run_id: str, params: RefreshParams) -> dict[str, Any]:
    """Run one stage by its name (a DAG task calls this with its own task id)."""
    for stage in STAGES:
        if stage.name == name:
            return stage.run(settings, run_id, params)
    raise KeyError(f"no stage {name!r} in the KB refresh; the stages are {[s.name for s in STAGES]}")


def counts_by_key(results: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """Stage results by stage name -> the run's counts, keyed as `finish` records them."""
    return {s.key: results[s.name] for s in STAGES if s.name in results}


def run_night(settings: Settings, run_id: str, params: RefreshParams) -> dict[str, Any]:
    """The whole night in this process: begin, every stage in order, finish (what `medkb refresh` does)."""
    begin(settings, run_id, asdict(params))
    results = {s.name: s.run(settings, run_id, params) for s in STAGES}
    return finish(settings, run_id, counts_by_key(results))
