"""Diagnostic results in Postgres (migration 0050): each case's current evaluation and suggestions,
and the diff against what it had before (new, changed, withdrawn). One transaction per case, so a
case is never half-written; re-writing an identical evaluation records no diff."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from medkb.db.postgres import execute, fetch_all
from medkb.rules.case import CasePhenotype
from medkb.rules.engine import CaseEvaluation
from medkb.rules.explain import Suggestion


def fingerprint(s: Suggestion) -> str:
    return hashlib.sha256(json.dumps(s.fingerprint(), sort_keys=True, default=str).encode()).hexdigest()[:24]


def previous(conn: Any, source: str, case_key: str) -> dict[str, dict[str, Any]]:
    rows = fetch_all(conn, "SELECT suggestion_key, fingerprint, name, strength, score FROM diagnosis_suggestions "
                     "WHERE source = %s AND case_key = %s", (source, case_key))
    return {r["suggestion_key"]: r for r in rows}


def store_evaluation(conn: Any, ev: CaseEvaluation, *, record_hash: str, ruleset_version: str, graph_run: str | None,
                     graph_seq: int, touched: frozenset[str], run_id: str, reason: str) -> dict[str, int]:
    """Replace the case's evaluation and suggestions; record the diff; return its counts."""
    before = previous(conn, ev.source, ev.case_key)
    execute(conn, """
        INSERT INTO diagnosis_evaluations (source, case_key, record_hash, ruleset_version, graph_run, graph_seq, touched,
                                           as_of, not_evaluable, notes, run_id, evaluated_at)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())
        ON CONFLICT (source, case_key) DO UPDATE SET record_hash = EXCLUDED.record_hash,
            ruleset_version = EXCLUDED.ruleset_version, graph_run = EXCLUDED.graph_run, graph_seq = EXCLUDED.graph_seq,
            touched = EXCLUDED.touched, as_of = EXCLUDED.as_of, not_evaluable = EXCLUDED.not_evaluable,
            notes = EXCLUDED.notes, run_id = EXCLUDED.run_id, evaluated_at = now()
    """, (ev.source, ev.case_key, record_hash, ruleset_version, graph_run, graph_seq, sorted(touched), ev.as_of,
          json.dumps([n.as_dict() for n in ev.not_evaluable]), json.dumps(list(ev.notes)), run_id))
    counts = {"new": 0, "changed": 0, "withdrawn": 0}
    now_keys = set()
    for s in ev.suggestions:
        now_keys.add(s.key)
        fp = fingerprint(s)
        old = before.get(s.key)
        change = "new" if old is None else ("changed" if old["fingerprint"] != fp else None)
        execute(conn, """
            INSERT INTO diagnosis_suggestions (source, case_key, suggestion_key, kind, name, codes, strength, score,
                recommendation, explanation, text, fingerprint, ruleset_version, graph_run, run_id)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (source, case_key, suggestion_key) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name,
                codes = EXCLUDED.codes, strength = EXCLUDED.strength, score = EXCLUDED.score,
                recommendation = EXCLUDED.recommendation, explanation = EXCLUDED.explanation, text = EXCLUDED.text,
                fingerprint = EXCLUDED.fingerprint, ruleset_version = EXCLUDED.ruleset_version,
                graph_run = EXCLUDED.graph_run, run_id = EXCLUDED.run_id, updated_at = now()
        """, (ev.source, ev.case_key, s.key, s.kind, s.name, json.dumps(s.codes), s.strength, s.score,
              s.recommendation, json.dumps(s.explanation, default=str), s.text, fp, ruleset_version, graph_run, run_id))
        if change:
            counts[change] += 1
            _diff(conn, run_id, ev, s.key, change, reason, old, {"name": s.name, "strength": s.strength,
                                                                  "score": s.score, "fingerprint": fp})
    for key, old in before.items():
        if key not in now_keys:
            counts["withdrawn"] += 1
            execute(conn, "DELETE FROM diagnosis_suggestions WHERE source = %s AND case_key = %s AND suggestion_key = %s",
                    (ev.source, ev.case_key, key))
            _diff(conn, run_id, ev, key, "withdrawn", reason, old, None)
    return counts


def _diff(conn: Any, run_id: str, ev: CaseEvaluation, key: str, change: str, reason: str,
          before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    execute(conn, "INSERT INTO diagnosis_diffs (run_id, source, case_key, suggestion_key, change, reason, before, after) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (run_id, ev.source, ev.case_key, key, change, reason,
             json.dumps(before, default=str) if before else None, json.dumps(after, default=str) if after else None))


def withdraw_case(conn: Any, run_id: str, source: str, case_key: str) -> int:
    """A case that left staging (quarantined, removed): its suggestions are withdrawn, with a diff."""
    before = previous(conn, source, case_key)
    for key, old in before.items():
        execute(conn, "INSERT INTO diagnosis_diffs (run_id, source, case_key, suggestion_key, change, reason, before) "
                "VALUES (%s, %s, %s, %s, 'withdrawn', 'case_removed', %s)",
                (run_id, source, case_key, key, json.dumps(old, default=str)))
    execute(conn, "DELETE FROM diagnosis_evaluations WHERE source = %s AND case_key = %s", (source, case_key))
    return len(before)


def has_table(conn: Any, name: str) -> bool:
    return bool(fetch_all(conn, "SELECT to_regclass(%s) AS t", (name,))[0]["t"])


def store_linked_phenotypes(conn: Any, source: str, case_key: str, linked: tuple[CasePhenotype, ...],
                            run_id: str) -> int:
    """The HPO terms derived from the case's coded conditions, in the shared `case_phenotypes` table
    (replacing the ones an earlier diagnose run derived; others' rows are left alone)."""
    if not has_table(conn, "case_phenotypes"):
        return 0
    execute(conn, "DELETE FROM case_phenotypes WHERE source = %s AND case_key = %s AND run_id LIKE 'diagnose-%%'",
            (source, case_key))
    for p in linked:
        execute(conn, "INSERT INTO case_phenotypes (source, case_key, hpo_id, excluded, onset, evidence, run_id) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (source, case_key, p.hpo_id, p.excluded, p.onset, p.evidence, run_id))
    return len(linked)


def load_results(conn: Any, source: str, case_key: str) -> dict[str, Any] | None:
    rows = fetch_all(conn, "SELECT * FROM diagnosis_evaluations WHERE source = %s AND case_key = %s",
                     (source, case_key))
    if not rows:
        return None
    out = dict(rows[0])
    out["suggestions"] = fetch_all(conn, "SELECT suggestion_key, kind, name, codes, strength, score, recommendation, "
                                   "explanation, text FROM diagnosis_suggestions WHERE source = %s AND case_key = %s "
                                   "ORDER BY kind, suggestion_key", (source, case_key))
    return out
