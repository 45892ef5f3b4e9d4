"""Benchmark: analysts querying while a night loads. 8 clients run every named query in a loop,
first on a quiet graph, then while the load stage writes a night; then the night's dump is compared
with the same night loaded with nobody reading.

    python bench/analyst_load.py [--clients 8] [--rows 30000] [--quiet-s 30] [--max-queries 20000]

What loads: the load stage's own code (`medkb.kb.loader.load_extractions`) on bench/kb_load.py's
synthetic evidence (--rows rows over rows/5 documents, 2,000 chemicals, 1,000 diseases), not the
30,000-citation MEDLINE sample: extracting that sample takes hours on this machine's shared CPUs,
and the load is what competes with readers. Uses the test Neo4j (MEDKB_ENV=test) and EMPTIES it.
All traffic is to the configured Bolt address (127.0.0.1 locally); clients stop after --max-queries
in all or when the phase ends. Every reader error is counted and the first few printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

from kb_load import synthetic, wipe  # noqa: E402 (bench/ sibling)

from medkb.kb.analyst import run_named  # noqa: E402
from medkb.kb.client import GraphClient  # noqa: E402
from medkb.kb.dump import canonical_dump  # noqa: E402
from medkb.kb.loader import load_extractions  # noqa: E402
from medkb.kb.queries import all_queries  # noqa: E402
from medkb.kb.schema import init_schema  # noqa: E402
from medkb.settings import Settings  # noqa: E402

PARAMS: dict[str, Any] = {
    "text": "C000001", "id": "MESH:C000001", "disease": "MESH:D000001", "phenotypes": ["HP:0001250"],
    "subject": "MESH:C000001", "object": "MESH:D000001", "chemical": "MESH:C000001", "since": "2026-11-01",
    "phenotype": "HP:0001250", "run": "LOAD",
}


def _bound() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name, q in sorted(all_queries().items()):
        out.append((name, q.bind({p.name: PARAMS[p.name] for p in q.params if p.name in PARAMS})))
    return out


class Readers:
    def __init__(self, settings: Settings, clients: int, max_queries: int) -> None:
        self.settings, self.clients, self.max_queries = settings, clients, max_queries
        self.queries = _bound()
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def _client(self, i: int) -> None:
        with GraphClient(self.settings.neo4j) as graph:
            k = i
            while not self.stop.is_set():
                name, params = self.queries[k % len(self.queries)]
                k += 1
                t0 = time.perf_counter()
                try:
                    run_named(graph, name, params)
                except Exception as exc:  # every reader error counts; the bench says which
                    with self.lock:
                        self.errors.append(f"{name}: {type(exc).__name__}: {str(exc)[:160]}")
                dt = time.perf_counter() - t0
                with self.lock:
                    self.latencies.append(dt)
                    if len(self.latencies) >= self.max_queries:
                        self.stop.set()

    def phase(self, work: Any, seconds: float | None = None) -> dict[str, float]:
        self.latencies, self.stop = [], threading.Event()
        threads = [threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(self.clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        result = work() if work else time.sleep(seconds or 0)
        self.stop.set()
        for t in threads:
            t.join(timeout=120)
        wall = time.perf_counter() - t0
        lat = sorted(self.latencies)
        q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [lat[0] * 1000] * 99 if lat else [0.0] * 99
        return {"queries": len(lat), "seconds": wall, "qps": len(lat) / wall if wall else 0.0,
                "p50_ms": q[49] * 1000, "p95_ms": q[94] * 1000, "result": result}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--rows", type=int, default=30_000)
    p.add_argument("--quiet-s", type=float, default=30.0)
    p.add_argument("--max-queries", type=int, default=20_000)
    p.add_argument("--batch-size", type=int, default=2000)
    args = p.parse_args(argv)
    if os.environ.get("MEDKB_ENV") != "test":
        print("run with MEDKB_ENV=test (this empties the graph)", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    base = synthetic(args.rows // 2, seed=3)  # what the graph holds before the night
    night = synthetic(args.rows, seed=7, doc_offset=500_000)
    with GraphClient(settings.neo4j) as graph:
        def fresh() -> None:
            wipe(graph)
            init_schema(graph)
            load_extractions(graph, [], base, "BASE", as_of="2026-11-01", batch_size=args.batch_size)

        def load() -> float:
            t0 = time.perf_counter()
            load_extractions(graph, [], night, "LOAD", as_of="2026-11-02", batch_size=args.batch_size)
            return time.perf_counter() - t0

        fresh()
        alone_s = load()
        quiet_night = canonical_dump(graph)
        fresh()
        readers = Readers(settings, args.clients, args.max_queries)
        quiet = readers.phase(None, args.quiet_s)
        quiet_errors = len(readers.errors)
        loaded = readers.phase(load)
        loaded_dump = canonical_dump(graph)
    print(f"named queries: {len(readers.queries)}; {args.clients} clients; night: {args.rows} evidence rows "
          f"over {args.rows // 5} documents onto a graph of {args.rows // 2} (synthetic, see the docstring)")
    print(f"night alone: load {alone_s:.1f} s")
    for label, r in (("quiet", quiet), ("during the load", loaded)):
        print(f"{label:>16}: {r['queries']} queries in {r['seconds']:.1f} s = {r['qps']:.1f} q/s, "
              f"p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms")
    print(f"night under readers: load {loaded['result']:.1f} s; dump equals the quiet night's: "
          f"{loaded_dump == quiet_night}")
    print(f"reader errors: {quiet_errors} quiet, {len(readers.errors) - quiet_errors} during the load")
    for e in readers.errors[:5]:
        print("  ", e)
    return 0 if loaded_dump == quiet_night and not readers.errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
