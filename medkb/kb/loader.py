"""Loading what the extraction stage found: mentions and assertions, with their evidence.

Per document and model, the input is the whole truth: a relationship from an earlier load that the
new input no longer has (a revised abstract, a re-run extraction) is removed, and what changes or
goes away is first copied into a change record (kb/provenance.py), so `medkb kb rollback RUN`
restores it. Writes are batched `UNWIND $rows` statements, rows sorted by key, nodes before
relationships; one transaction per batch of documents (two in flight), retried by the driver on
transient errors. Documents this run created skip the change-record statements: nothing from an
earlier run can be on them (bench/results/kb_load-20261129.txt has what each step bought).
Derived facts (assertion counts, summary edges) are recomputed from the evidence at the end
(kb/summary.py). Every step is idempotent, so a load that dies halfway is simply run again.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, LiteralString

import neo4j

from medkb.kb import provenance, supersede
from medkb.kb.checks import Unloadable, check_records
from medkb.kb.client import GraphClient
from medkb.kb.documents import MERGE_EVIDENCE_DOCUMENTS, record_run
from medkb.kb.summary import changed_evidence_assertions, recompute
from medkb.nlp.extracted import ExtractedAssertion, Mention
from medkb.vocabulary import PREDICATE_ENDS, pmid_of

log = logging.getLogger(__name__)

# A document this run created has nothing from earlier runs, so the stale-edge checks skip it.
# They expand from the document and leave the other end unlabelled, so the planner cannot choose
# to scan every Assertion instead (which it did on a small graph, making big loads quadratic).

# `CYPHER replan=skip` on the statements whose plan is only unique-index seeks plus a MERGE between
# two bound nodes: that plan does not depend on the statistics, but a graph that grows from empty
# changes them fast enough to re-plan these statements dozens of times per load.


_MERGE_CONCEPTS: LiteralString = """
CYPHER replan=skip
UNWIND $rows AS row
MERGE (c:Concept {id: row.id})
ON CREATE SET c.created_run = $run, c.name = row.name, c.source = 'extraction', c:$(row.label)
"""

_MERGE_ASSERTIONS: LiteralString = """
CYPHER replan=skip
UNWIND $rows AS row
MERGE (a:Assertion {id: row.id})
ON CREATE SET a.created_run = $run, a.subject = row.s, a.predicate = row.p, a.object = row.o
WITH a, row
MATCH (s:Concept {id: row.s}) MATCH (o:Concept {id: row.o})
MERGE (a)-[r1:SUBJECT]->(s) ON CREATE SET r1.run = a.created_run
MERGE (a)-[r2:OBJECT]->(o) ON CREATE SET r2.run = a.created_run
"""

_MERGE_MENTIONS: LiteralString = (
    """
UNWIND $rows AS row
MATCH (d:Document {id: row.doc}) MATCH (c:Concept {id: row.concept})
MERGE (d)-[m:MENTIONS {model: row.model}]->(c)
ON CREATE SET m.count = row.count, m.run = $run
WITH d, c, m, row WHERE m.count <> row.count OR """ + supersede.IS_SUPERSEDED["m"] + """
"""
    + provenance.rel_touched("rel_changed", "m", "MENTIONS", "d", "c")
    + "SET m.count = row.count, m.changed_run = $run, " + supersede.MAKE_CURRENT["m"]
)

# For documents this run created: no earlier relationship can be changed, so no change record and
# no read-after-write filter (which made the planner buffer every row three times: Eager).
_NEW_MENTIONS: LiteralString = """
CYPHER replan=skip
UNWIND $rows AS row
MATCH (d:Document {id: row.doc}) MATCH (c:Concept {id: row.concept})
MERGE (d)-[m:MENTIONS {model: row.model}]->(c)
ON CREATE SET m.count = row.count, m.run = $run
ON MATCH SET m.count = row.count
"""

_STALE_MENTIONS: LiteralString = (
    """
UNWIND $groups AS g
MATCH (d:Document {id: g.doc}) WHERE d.created_run <> $run
MATCH (d)-[m:MENTIONS {model: g.model}]->(c)
WHERE NOT c.id IN g.keep
"""
    + provenance.rel_touched("rel_deleted", "m", "MENTIONS", "d", "c")
    + "DELETE m"
)

# An EVIDENCE relationship is identified by its ends plus (start, model): the primary key of
# extracted_assertions. No separate key property: it repeated those four values in the longest
# string on the relationship, and writing it cost about a tenth of the load.
_MERGE_EVIDENCE: LiteralString = (
    """
UNWIND $rows AS row
MATCH (a:Assertion {id: row.assertion}) MATCH (d:Document {id: row.doc})
MERGE (a)-[e:EVIDENCE {start: row.start, model: row.model}]->(d)
ON CREATE SET e.sentence = row.sentence, e.end = row.end, e.score = row.score, e.run = $run, e.seen = $as_of
WITH a, d, e, row WHERE e.sentence <> row.sentence OR e.end <> row.end OR e.score <> row.score
                     OR """ + supersede.IS_SUPERSEDED["e"] + """
"""
    + provenance.rel_touched("rel_changed", "e", "EVIDENCE", "a", "d")
    + "SET e.sentence = row.sentence, e.end = row.end, e.score = row.score, e.changed_run = $run, "
    + supersede.MAKE_CURRENT["e"]
)

_NEW_EVIDENCE: LiteralString = """
CYPHER replan=skip
UNWIND $rows AS row
MATCH (a:Assertion {id: row.assertion}) MATCH (d:Document {id: row.doc})
MERGE (a)-[e:EVIDENCE {start: row.start, model: row.model}]->(d)
ON CREATE SET e.sentence = row.sentence, e.end = row.end, e.score = row.score, e.run = $run, e.seen = $as_of
ON MATCH SET e.sentence = row.sentence, e.end = row.end, e.score = row.score
"""

_STALE_EVIDENCE: LiteralString = (
    """
UNWIND $groups AS g
MATCH (d:Document {id: g.doc}) WHERE d.created_run <> $run
MATCH (d)<-[e:EVIDENCE {model: g.model}]-(a)
WHERE NOT a.id + '|' + toString(e.start) IN g.keep
"""
    + provenance.rel_touched("rel_deleted", "e", "EVIDENCE", "a", "d")
    + "DELETE e"
)


@dataclass
class LoadCounts:
    documents: int = 0
    concepts: int = 0
    assertions: int = 0
    mentions: int = 0
    mention_edges: int = 0
    unlinked_mentions: int = 0
    evidence: int = 0
    batches: int = 0
    recomputed: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        d = {k: v for k, v in self.__dict__.items() if k != "extra"}
        return {**d, **self.extra}


def evidence_key(a: ExtractedAssertion) -> str:
    """One EVIDENCE relationship per extracted row (the primary key of extracted_assertions)."""
    return f"{a.key}|{a.doc_id}|{a.start}|{a.model}"


def _concept_rows(mentions: Sequence[Mention], assertions: Sequence[ExtractedAssertion]) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for m in sorted(mentions, key=lambda m: (m.concept_id or "", m.doc_id, m.start)):
        if m.concept_id and m.concept_id not in rows:
            rows[m.concept_id] = {"id": m.concept_id, "label": m.type, "name": m.text}
    for a in assertions:
        s_label, o_label = PREDICATE_ENDS[a.predicate]
        rows.setdefault(a.subject_id, {"id": a.subject_id, "label": s_label, "name": a.subject_id})
        rows.setdefault(a.object_id, {"id": a.object_id, "label": o_label, "name": a.object_id})
    return sorted(rows.values(), key=lambda r: r["id"])


def _doc_batches(doc_ids: list[str], weight: Counter[str], batch_size: int) -> Iterable[list[str]]:
    """Consecutive documents, cut so that each batch carries about `batch_size` rows."""
    batch: list[str] = []
    rows = 0
    for doc in doc_ids:
        batch.append(doc)
        rows += max(weight[doc], 1)
        if rows >= batch_size:
            yield batch
            batch, rows = [], 0
    if batch:
        yield batch


@dataclass
class DocBatch:
    """A batch of documents with their MENTIONS and EVIDENCE rows; written in one transaction.
    `extractions`: each document's models in this load, whose evidence supersedes the others'."""

    docs: list[dict[str, Any]]
    mention_rows: list[dict[str, Any]]
    mention_groups: list[dict[str, Any]]
    ev_rows: list[dict[str, Any]]
    ev_groups: list[dict[str, Any]]
    extractions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.mention_rows) + len(self.ev_rows)


def write_batch(client: GraphClient, batch: DocBatch, run_id: str, as_of: str,
                before: Sequence[tuple[LiteralString, dict[str, Any]]] = ()) -> None:
    """One managed write transaction (retried by the driver): `before` statements, the documents,
    the older models' evidence of these documents marked superseded (kb/supersede.py), then their
    relationships. All of a batch lands, or none of it: no moment shows a document with neither
    extraction, or with both counting."""
    common = {"run": run_id, "as_of": as_of}

    def run(tx: neo4j.ManagedTransaction, query: LiteralString, key: str, items: list[dict[str, Any]]) -> None:
        if items:
            tx.run(query, {key: items, **common}).consume()

    def work(tx: neo4j.ManagedTransaction) -> None:
        for query, params in before:
            tx.run(query, {**common, **params}).consume()
        fresh = set(tx.run(MERGE_EVIDENCE_DOCUMENTS, {"rows": batch.docs, **common}).single()["fresh"])
        for query, params in supersede.statements([g for g in batch.extractions if g["doc"] not in fresh]):
            tx.run(query, {**common, **params}).consume()
        old = [g for g in batch.mention_groups if g["doc"] not in fresh]
        run(tx, _STALE_MENTIONS, "groups", old)
        run(tx, _NEW_MENTIONS, "rows", [r for r in batch.mention_rows if r["doc"] in fresh])
        run(tx, _MERGE_MENTIONS, "rows", [r for r in batch.mention_rows if r["doc"] not in fresh])
        run(tx, _STALE_EVIDENCE, "groups", [g for g in batch.ev_groups if g["doc"] not in fresh])
        run(tx, _NEW_EVIDENCE, "rows", [r for r in batch.ev_rows if r["doc"] in fresh])
        run(tx, _MERGE_EVIDENCE, "rows", [r for r in batch.ev_rows if r["doc"] not in fresh])

    with client.driver.session(database=client.target.database) as s:
        s.execute_write(work)


def _finish(item: tuple[Future[None], DocBatch], counts: LoadCounts, on_batch: Callable[[int], None] | None) -> None:
    future, batch = item
    future.result()  # re-raises the batch's error here, after the driver's retries
    counts.batches += 1
    counts.mention_edges += len(batch.mention_rows)
    counts.evidence += len(batch.ev_rows)
    if on_batch:
        on_batch(batch.rows)


def load_extractions(
    client: GraphClient,
    mentions: Sequence[Mention],
    assertions: Sequence[ExtractedAssertion],
    run_id: str,
    as_of: str | None = None,
    batch_size: int = 5000,
    on_batch: Callable[[int], None] | None = None,
    workers: int = 2,
    on_rejected: Callable[[list[Unloadable]], Any] | None = None,
    current: Mapping[str, Sequence[str]] | None = None,
    summaries: bool = True,
) -> dict[str, int]:
    """Load one run's mentions and assertions; `as_of` (YYYY-MM-DD, default today) dates new evidence.

    `on_batch(rows)` is called after each committed batch (progress bars; tests inject failures).
    Records the graph cannot hold (ids that are not CURIEs, scores outside 0..1) are split off here,
    the one check (kb/checks.py), counted as `rejected` and left out; the rest goes on.
    `on_rejected(records)` receives them (the refresh quarantines them); without it they are logged.

    Per document, the models of its rows here (plus `current[doc]`, the models of its latest
    extraction, which lists documents in which that extraction found nothing, too) are its current
    extraction: evidence and mentions of other models on it become superseded (kb/supersede.py).
    `summaries=False` leaves the recompute of summary edges to the caller (re-extraction does it
    per batch of documents).
    """
    as_of = as_of or datetime.now(UTC).date().isoformat()
    counts = LoadCounts()
    mentions, assertions, rejected = check_records(mentions, assertions)
    if on_rejected is not None:
        on_rejected(rejected)
    else:
        for _record, reason in rejected:
            log.error("rejected %s", reason)
    counts.extra["rejected"] = len(rejected)
    linked = [m for m in mentions if m.concept_id]
    counts.unlinked_mentions = len(mentions) - len(linked)
    counts.mentions = len(linked)
    doc_ids = sorted({m.doc_id for m in mentions} | {a.doc_id for a in assertions} | set(current or ()))
    record_run(client, run_id, {"kind": "load", "status": "loading", "as_of": as_of,
                                "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                                "models": sorted({m.model for m in mentions} | {a.model for a in assertions})})

    # 1. nodes: concepts and assertions (with their SUBJECT/OBJECT edges); documents come first in
    #    each batch's own transaction in step 2
    concepts = _concept_rows(linked, assertions)
    counts.concepts = len(concepts)
    client.write_batches(_MERGE_CONCEPTS, concepts, batch_size=batch_size, run=run_id)
    counts.documents = len(doc_ids)  # merged with their relationships, batch by batch (step 2)
    assertion_rows = sorted(
        ({"id": a.key, "s": a.subject_id, "p": a.predicate, "o": a.object_id} for a in {a.key: a for a in assertions}.values()),
        key=lambda r: r["id"],
    )
    counts.assertions = len(assertion_rows)
    client.write_batches(_MERGE_ASSERTIONS, assertion_rows, batch_size=batch_size, run=run_id)

    # 2. a batch of documents per transaction: the documents, then their relationships
    mention_counts: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    mention_models: dict[str, set[str]] = defaultdict(set)
    for m in linked:
        mention_counts[m.doc_id][(m.concept_id or "", m.model)] += 1
    for m in mentions:
        mention_models[m.doc_id].add(m.model)
    evidence_by_doc: dict[str, dict[str, ExtractedAssertion]] = defaultdict(dict)
    for a in assertions:
        evidence_by_doc[a.doc_id][evidence_key(a)] = a
    # each document's models in this load: the input is the whole truth for each of them
    doc_models: dict[str, set[str]] = defaultdict(set)
    for d, models in (current or {}).items():
        doc_models[d].update(models)
    for d, models in mention_models.items():
        doc_models[d].update(models)
    for d, by_key in evidence_by_doc.items():
        doc_models[d].update(a.model for a in by_key.values())
    weight = Counter({d: len(evidence_by_doc[d]) + len(mention_counts[d]) for d in doc_ids})
    popularity = Counter(a.key for a in assertions)

    def doc_batch(batch: list[str]) -> DocBatch:
        # Evidence in one global order of assertions, rarest first: concurrent batches then lock
        # shared assertion nodes in the same order (they queue, never deadlock), and take the
        # busiest ones last, so a batch waits for another's commit only at its very end.
        ev_rows = sorted(
            ({"assertion": a.key, "doc": d, "sentence": a.sentence, "start": a.start, "end": a.end,
              "score": float(a.score), "model": a.model}
             for d in batch for a in evidence_by_doc[d].values()),
            key=lambda r: (popularity[r["assertion"]], r["assertion"], r["doc"], r["start"], r["model"]),
        )
        return DocBatch(
            docs=[{"id": d, "pmid": pmid_of(d)} for d in batch],
            mention_rows=[{"doc": d, "concept": c, "model": model, "count": n}
                          for d in batch for (c, model), n in sorted(mention_counts[d].items())],
            mention_groups=[{"doc": d, "model": model, "keep": sorted(c for (c, mm) in mention_counts[d] if mm == model)}
                            for d in batch for model in sorted(doc_models[d])],
            ev_rows=ev_rows,
            ev_groups=[{"doc": d, "model": model, "keep": sorted(f"{a.key}|{a.start}" for a in evidence_by_doc[d].values()
                                                                 if a.model == model)}
                       for d in batch for model in sorted(doc_models[d])],
            extractions=supersede.extraction_groups(doc_models, batch),
        )

    # While one batch commits (log flush), the next one runs: `workers` transactions in flight.
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="kb-load") as pool:
        pending: deque[tuple[Future[None], DocBatch]] = deque()
        for docs in _doc_batches(doc_ids, weight, batch_size):
            batch = doc_batch(docs)
            pending.append((pool.submit(write_batch, client, batch, run_id, as_of), batch))
            while len(pending) >= max(1, workers):
                _finish(pending.popleft(), counts, on_batch)
        while pending:
            _finish(pending.popleft(), counts, on_batch)

    # 3. derived facts, for every assertion in the input and every one whose evidence this run touched
    if summaries:
        affected = {r["id"] for r in assertion_rows} | changed_evidence_assertions(client, run_id)
        counts.recomputed = recompute(client, affected, run_id, batch_size=batch_size)
    record_run(client, run_id, {"status": "loaded", "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
                                **{f"loaded_{k}": v for k, v in counts.as_dict().items()}})
    return counts.as_dict()
