"""Benchmark: evidence rows per second, batched loader vs one transaction per row, and rollback time.

    python bench/kb_load.py --sizes 10000 100000 [1000000] --baseline-rows 2000 --rollback-rows 100000

Uses the test Neo4j (MEDKB_ENV=test) and EMPTIES it. The same synthetic input feeds both paths in
one process: the batched path is `medkb.kb.loader.load_extractions`; the baseline writes the same
statements for one evidence row (its concepts, document, assertion and the evidence) per
transaction, over the first `--baseline-rows` rows, and its rate is reported as measured there.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

from tqdm import tqdm

from medkb.kb import loader
from medkb.kb.client import GraphClient
from medkb.kb.dump import canonical_dump
from medkb.kb.rollback import rollback_run
from medkb.kb.schema import init_schema
from medkb.kb.summary import recompute
from medkb.nlp.extracted import ExtractedAssertion
from medkb.settings import Settings

ROWS_PER_DOC = 5


def synthetic(n: int, seed: int = 7, doc_offset: int = 0) -> list[ExtractedAssertion]:
    """n evidence rows over n/5 documents, 2,000 chemicals and 1,000 diseases (Zipf-ish pairs)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        doc = f"PMID:{10_000_000 + doc_offset + i // ROWS_PER_DOC}"
        chem = f"MESH:C{int(rng.paretovariate(1.2)) % 2000:06d}"
        dis = f"MESH:D{int(rng.paretovariate(1.2)) % 1000:06d}"
        start = (i % ROWS_PER_DOC) * 120
        rows.append(ExtractedAssertion(chem, "INDUCES", dis, round(rng.random(), 3), doc,
                                       f"In this cohort {chem} was followed by {dis} (case {i}).",
                                       start, start + 60, "bench-model-1"))
    return rows


def wipe(client: GraphClient) -> None:
    # relationships first: one hot assertion can hold 100k+ of them, too many for one DETACH DELETE
    client.write_autocommit("MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 20000 ROWS")
    client.write_autocommit("MATCH (n) CALL (n) { DELETE n } IN TRANSACTIONS OF 20000 ROWS")
    init_schema(client)


def batched(client: GraphClient, rows: list[ExtractedAssertion], run: str, batch_size: int) -> float:
    t = time.perf_counter()
    with tqdm(total=len(rows), desc=f"batched {len(rows):,}", unit="row", mininterval=2) as bar:
        loader.load_extractions(client, [], rows, run, as_of="2026-11-28", batch_size=batch_size,
                                on_batch=bar.update)
    return time.perf_counter() - t


def row_by_row(client: GraphClient, rows: list[ExtractedAssertion], run: str) -> float:
    """The same writes, one evidence row (with the nodes it needs) per transaction."""
    t = time.perf_counter()
    for a in tqdm(rows, desc=f"row-by-row {len(rows):,}", unit="row", mininterval=2):
        concepts = [{"id": a.subject_id, "label": "Chemical", "name": a.subject_id},
                    {"id": a.object_id, "label": "Disease", "name": a.object_id}]
        batch = loader.DocBatch(
            docs=[{"id": a.doc_id, "pmid": a.doc_id[5:]}], mention_rows=[], mention_groups=[],
            ev_rows=[{"assertion": a.key, "doc": a.doc_id, "sentence": a.sentence, "start": a.start,
                      "end": a.end, "score": a.score, "model": a.model}],
            ev_groups=[{"doc": a.doc_id, "model": a.model, "keep": [f"{a.key}|{a.start}"]}],
        )
        loader.write_batch(client, batch, run, "2026-11-28", before=[
            (loader._MERGE_CONCEPTS, {"rows": concepts}),
            (loader._MERGE_ASSERTIONS, {"rows": [{"id": a.key, "s": a.subject_id, "p": a.predicate, "o": a.object_id}]}),
        ])
    recompute(client, {a.key for a in rows}, run)
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--baseline-rows", type=int, default=2000, help="rows for the row-by-row baseline per size")
    p.add_argument("--rollback-rows", type=int, default=100_000, help="size of the run to roll back (0: skip)")
    p.add_argument("--batch-size", type=int, default=5000)
    args = p.parse_args(argv)
    if os.environ.get("MEDKB_ENV") != "test":
        print("refusing: this benchmark empties the graph; run with MEDKB_ENV=test", file=sys.stderr)
        return 2
    results = []
    with GraphClient(Settings.from_env().neo4j) as client:
        for n in args.sizes:
            rows = synthetic(n)
            wipe(client)
            t_batch = batched(client, rows, "bench-batched", args.batch_size)
            print(f"{n:>9,} rows: batched {t_batch:7.1f} s = {n / t_batch:9,.0f} rows/s", flush=True)
            m = min(args.baseline_rows, n)
            wipe(client)
            t_row = row_by_row(client, rows[:m], "bench-row")
            rate_b, rate_r = n / t_batch, m / t_row
            results.append((n, t_batch, rate_b, m, rate_r))
            print(f"{n:>9,} rows: batched {t_batch:7.1f} s = {rate_b:9,.0f} rows/s | row-by-row ({m:,} rows) "
                  f"{rate_r:7,.0f} rows/s | ratio {rate_b / rate_r:5.1f}x", flush=True)
        if args.rollback_rows:
            wipe(client)
            batched(client, synthetic(10_000, seed=1), "bench-A", args.batch_size)
            after_a = canonical_dump(client)
            t_b = batched(client, synthetic(args.rollback_rows, seed=2, doc_offset=5_000_000), "bench-B",
                          args.batch_size)
            t = time.perf_counter()
            rollback_run(client, "bench-B")
            t_rb = time.perf_counter() - t
            same = canonical_dump(client) == after_a
            print(f"rollback of a {args.rollback_rows:,}-row run (loaded in {t_b:.1f} s): {t_rb:.1f} s; "
                  f"dump equals the dump before it: {same}", flush=True)
    print("\nsize, batched s, batched rows/s, baseline rows, baseline rows/s, ratio")
    for n, tb, rb, m, rr in results:
        print(f"{n}, {tb:.2f}, {rb:.0f}, {m}, {rr:.0f}, {rb / rr:.1f}")
    if len(results) > 1:
        (n0, t0, *_), (n1, t1, *_) = results[0], results[-1]
        print(f"cost growth: {n1 / n0:.0f}x rows took {t1 / t0:.1f}x the time (linear = {n1 / n0:.0f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
