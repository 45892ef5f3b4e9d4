"""`medkb diagnose --changed` and the medkb_diagnose DAG: re-evaluate only the cases a change can affect.

A case is re-evaluated when
- it is new, or its record changed since its last evaluation (the hash of everything it is built from,
  rules/store.py: RECORD_HASHES, differs from the one stored with its evaluation): `record_changed`;
- the rule set's version differs from the one its evaluation used: `ruleset_changed`;
- a graph run it has not seen touched a concept the case touches (rules/graph_changes.py, through
  run provenance; a seed run counts as touching every concept): `graph_changed`.
Every other case keeps its results untouched. Each re-evaluated case's diff (new, changed,
withdrawn suggestions) is recorded with the reason. A case that fails is reported by its
pseudonymous key prefix and the run goes on.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from medkb.db.postgres import connect, execute, fetch_all
from medkb.kb.client import GraphClient
from medkb.rules import graph_changes
from medkb.rules.diagnose import diagnose_case
from medkb.rules.mapping import ConceptMapper
from medkb.rules.results import store_evaluation, store_linked_phenotypes, withdraw_case
from medkb.rules.ruleset import RuleSet, load_rulesets
from medkb.rules.store import load_cases, record_hashes
from medkb.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RerunSummary:
    run_id: str
    ruleset_version: str
    graph_run: str | None
    cases_total: int
    evaluated: int
    unchanged: int
    reasons: dict[str, int] = field(default_factory=dict)  # record_changed / ruleset_changed / graph_changed / new
    diffs: dict[str, int] = field(default_factory=dict)  # new / changed / withdrawn suggestions
    withdrawn_cases: int = 0
    failed: tuple[str, ...] = ()  # "case abc123…: reason"
    graph_runs_new: int = 0
    seconds: float = 0.0


def _record_graph_changes(conn: Any, graph: GraphClient, run_id: str) -> tuple[int, str | None, int]:
    """Record the graph runs (and statuses) not seen before with the concepts they touched; return
    (the latest sequence number, the latest graph run id, how many were new)."""
    seen = {(r["graph_run"], r["status"]) for r in fetch_all(conn, "SELECT graph_run, status FROM diagnosis_graph_changes")}
    earlier = {}
    for r in fetch_all(conn, "SELECT DISTINCT ON (graph_run) graph_run, everything, concepts FROM diagnosis_graph_changes "
                       "ORDER BY graph_run, seq"):
        earlier[r["graph_run"]] = (r["everything"], set(r["concepts"]))
    runs = graph_changes.graph_runs(graph)
    new = 0
    for run in runs:
        if (run.id, run.status) in seen:
            continue
        everything, concepts = graph_changes.touched_by(graph, run)
        if run.id in earlier:  # a status change (rolled back): what it touched before still counts
            everything = everything or earlier[run.id][0]
            concepts |= earlier[run.id][1]
        execute(conn, "INSERT INTO diagnosis_graph_changes (graph_run, status, everything, concepts, recorded_by) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (graph_run, status) DO NOTHING",
                (run.id, run.status, everything, sorted(concepts), run_id))
        new += 1
    seq = fetch_all(conn, "SELECT coalesce(max(seq), 0) AS s FROM diagnosis_graph_changes")[0]["s"]
    latest = runs[-1].id if runs else None
    return int(seq), latest, new


def affected_cases(conn: Any, ruleset_version: str, force_all: bool = False) -> tuple[dict[tuple[str, str], str],
                                                                                     dict[tuple[str, str], str], list]:
    """(case -> reason for every case to re-evaluate, case -> current record hash, evaluated cases gone)."""
    hashes = record_hashes(conn)
    evals = {(r["source"], r["case_key"]): r for r in fetch_all(
        conn, "SELECT source, case_key, record_hash, ruleset_version, graph_seq, touched FROM diagnosis_evaluations")}
    changes = fetch_all(conn, "SELECT seq, everything, concepts FROM diagnosis_graph_changes ORDER BY seq")
    todo: dict[tuple[str, str], str] = {}
    for key, h in hashes.items():
        ev = evals.get(key)
        if force_all:
            todo[key] = "forced"
        elif ev is None:
            todo[key] = "new_case"
        elif ev["record_hash"] != h:
            todo[key] = "record_changed"
        elif ev["ruleset_version"] != ruleset_version:
            todo[key] = "ruleset_changed"
        else:
            touched = set(ev["touched"] or ())
            for ch in changes:
                if ch["seq"] > ev["graph_seq"] and touched and (ch["everything"] or touched & set(ch["concepts"])):
                    todo[key] = "graph_changed"
                    break
    gone = [k for k in evals if k not in hashes]
    return todo, hashes, gone


def rerun_changed(settings: Settings, ruleset: RuleSet | None = None, *, force_all: bool = False,
                  rank: bool = True, progress: Callable[[int], None] | None = None) -> RerunSummary:
    """Re-evaluate the affected cases; see the module docstring. The DAG's task calls this."""
    start = time.perf_counter()
    ruleset = ruleset or load_rulesets()
    run_id = f"diagnose-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    reasons: Counter[str] = Counter()
    diffs: Counter[str] = Counter()
    failed: list[str] = []
    with GraphClient(settings.neo4j) as graph:
        with connect(settings) as conn:
            seq, latest, new_runs = _record_graph_changes(conn, graph, run_id)
            execute(conn, "INSERT INTO diagnosis_runs (run_id, ruleset_version, graph_run, graph_seq) VALUES (%s, %s, %s, %s)",
                    (run_id, ruleset.version, latest, seq))
            todo, hashes, gone = affected_cases(conn, ruleset.version, force_all)
        index = _ranking_index(graph, settings.data_dir) if rank else None
        mapper = ConceptMapper(graph)
        withdrawn = 0
        with connect(settings) as conn:
            for source, key in gone:
                withdrawn += 1
                diffs["withdrawn"] += withdraw_case(conn, run_id, source, key)
        with connect(settings) as conn:
            cases = list(load_cases(conn, todo.keys())) if todo else []
        for case in cases:
            k = (case.source, case.case_key)
            try:
                result = diagnose_case(case, ruleset, graph, mapper, index)
                with connect(settings) as conn:  # one transaction per case
                    counts = store_evaluation(conn, result.evaluation, record_hash=hashes[k],
                                              ruleset_version=ruleset.version, graph_run=latest, graph_seq=seq,
                                              touched=result.touched, run_id=run_id, reason=todo[k])
                    store_linked_phenotypes(conn, case.source, case.case_key, result.linked, run_id)
                reasons[todo[k]] += 1
                diffs.update(counts)
            except Exception as exc:  # one bad case must not stop the batch; the message names it
                log.error("diagnose: case %s… failed: %s: %s", case.case_key[:12], type(exc).__name__, exc)
                failed.append(f"case {case.case_key[:12]}…: {type(exc).__name__}: {exc}")
            if progress:
                progress(1)
    summary = RerunSummary(
        run_id=run_id, ruleset_version=ruleset.version, graph_run=latest, cases_total=len(hashes),
        evaluated=sum(reasons.values()), unchanged=len(hashes) - len(todo), reasons=dict(reasons),
        diffs={k: diffs.get(k, 0) for k in ("new", "changed", "withdrawn")}, withdrawn_cases=withdrawn,
        failed=tuple(failed), graph_runs_new=new_runs, seconds=round(time.perf_counter() - start, 3))
    with connect(settings) as conn:
        execute(conn, "UPDATE diagnosis_runs SET finished_at = now(), counts = %s WHERE run_id = %s",
                (_json({k: v for k, v in summary.__dict__.items() if k != "failed"} | {"failed": len(failed)}), run_id))
    return summary


def _json(d: dict[str, Any]) -> str:
    import json

    return json.dumps(d, default=str)


def _ranking_index(graph: GraphClient, data_dir: Path) -> Any:
    """The phenotype index for the graph's current state (cached on disk by graph state), or None
    when the graph has no HAS_PHENOTYPE annotations or the ranking module is unavailable."""
    try:
        from medkb.rules.phenotype_index import load_index
    except ImportError:  # pragma: no cover - the ranking lands separately
        return None
    if not graph.read("MATCH (:Disease)-[r:HAS_PHENOTYPE]->() RETURN r LIMIT 1"):
        return None
    try:
        return load_index(graph, cache_dir=data_dir / "cache" / "phenotype-index")
    except Exception as exc:  # the rules and drug safety still run
        log.warning("phenotype ranking unavailable (%s: %s); rules and drug safety only", type(exc).__name__, exc)
        return None
