"""Derived facts, recomputed from the evidence rather than updated in place.

An Assertion's `docs`, `score` (the strongest evidence), `first_seen`, `last_seen`, `runs` and
`models`, and the one-hop summary edge `(subject)-[:INDUCES|TREATS|ASSOCIATED_WITH]->(object)`
carrying the same numbers, are pure functions of its *current* EVIDENCE relationships (those no
newer extraction superseded, kb/supersede.py). Recomputing them (instead of adding to counters) is
what makes loads idempotent and rollbacks exact. An assertion left with only superseded evidence
keeps its node (docs = 0, its history stays queryable) and loses its summary edge; one left with
no evidence at all is deleted, with a change record so that rolling back the deleting run brings it back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import LiteralString

from medkb.kb import provenance
from medkb.kb.client import GraphClient
from medkb.vocabulary import PREDICATES

# `CYPHER replan=skip` on both (as on the loader's index-seek statements, kb/loader.py): their plans
# are unique-index seeks and expansions from bound nodes, which no statistic changes, and replanning
# them cost a night 0.2-0.3 s each whenever the graph's counts had moved since the last plan.
_RECOMPUTE_ASSERTIONS: LiteralString = (
    """
CYPHER replan=skip
UNWIND $ids AS aid
MATCH (a:Assertion {id: aid})
OPTIONAL MATCH (a)-[e:EVIDENCE]->(d:Document)
WITH a, e, d, CASE WHEN e.superseded_by_run IS NULL THEN e END AS cur ORDER BY e.run, e.model
WITH a, count(e) AS total, count(DISTINCT CASE WHEN cur IS NOT NULL THEN d END) AS docs, max(cur.score) AS score,
     min(cur.seen) AS first_seen, max(cur.seen) AS last_seen, collect(DISTINCT cur.run) AS runs,
     collect(DISTINCT cur.model) AS models
CALL (a, total) {
  WITH a WHERE total = 0
  """
    + provenance.node_deleted("a", "Assertion")
    + """
  DETACH DELETE a
}
WITH a, docs, score, first_seen, last_seen, runs, models WHERE total > 0
SET a.docs = docs, a.score = score, a.first_seen = first_seen, a.last_seen = last_seen, a.runs = runs,
    a.models = models
"""
)

# The relationship type comes from the row (`$(row.p)`, Neo4j 5.26's dynamic types); recompute()
# only builds rows whose predicate is in PREDICATES, the allow-list.
_SUMMARY: LiteralString = """
CYPHER replan=skip
UNWIND $rows AS row
MATCH (s:Concept {id: row.s}) MATCH (o:Concept {id: row.o})
OPTIONAL MATCH (a:Assertion {id: row.id})
CALL (s, o, a, row) {
  WITH s, o, a, row WHERE a IS NULL OR a.docs = 0
  OPTIONAL MATCH (s)-[i]->(o) WHERE type(i) = row.p
  DELETE i
}
CALL (s, o, a, row) {
  WITH s, o, a, row WHERE a.docs > 0
  MERGE (s)-[i:$(row.p)]->(o)
  SET i.docs = a.docs, i.score = a.score, i.first_seen = a.first_seen, i.last_seen = a.last_seen, i.runs = a.runs,
      i.models = a.models
}
"""


def split_assertion_id(aid: str) -> tuple[str, str, str]:
    subject, predicate, obj = aid.split("|")
    if predicate not in PREDICATES:
        raise ValueError(f"assertion {aid!r}: unknown predicate {predicate!r}; expected one of {PREDICATES}")
    return subject, predicate, obj


def recompute(client: GraphClient, assertion_ids: Iterable[str], run_id: str, batch_size: int = 5000) -> int:
    """Recompute the given assertions and their summary edges; return how many ids were processed."""
    ids = sorted(set(assertion_ids))
    for start in range(0, len(ids), batch_size):
        client.write(_RECOMPUTE_ASSERTIONS, {"ids": ids[start : start + batch_size], "run": run_id})
    rows = []
    for aid in ids:
        s, p, o = split_assertion_id(aid)
        if p not in PREDICATES:
            raise ValueError(f"assertion {aid}: predicate {p!r} is not one of {PREDICATES}")
        rows.append({"id": aid, "s": s, "p": p, "o": o})
    client.write_batches(_SUMMARY, rows, batch_size=batch_size, run=run_id)
    return len(ids)


def changed_evidence_assertions(client: GraphClient, run_id: str) -> set[str]:
    """Assertions whose evidence this run changed or deleted (read back from its change records,
    so an interrupted run that is re-run still recomputes them)."""
    rows = client.read(
        "MATCH (ch:Change {change_run: $run}) WHERE ch.rel_type = 'EVIDENCE' RETURN DISTINCT ch.from_id AS id "
        "UNION MATCH (ch:Change {change_run: $run}) WHERE ch.change_label = 'Assertion' RETURN DISTINCT ch.id AS id",
        {"run": run_id},
    )
    return {r["id"] for r in rows}
