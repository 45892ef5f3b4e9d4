"""The cost of a night as the corpus grows: a full load of N documents against a night adding 1 %.

For each N, in one run: empty the test stores, stage + validate + extract (chunked, as the DAG's
mapped tasks do) + load the first N citations of the MEDLINE baseline sample (the full load), then
drop a file with the next N/100 citations beside it and run the same stages again (the incremental
night: the already-ingested file is skipped, only the new documents are extracted and loaded).
Prints the seconds of each stage and the ratio night / full load (the target: <= 5 %).

Runs only with MEDKB_ENV=test (it empties the stores). The extractor is the registry's champion,
else the dictionary extractor; the line says which.

    source /tmp/medkb-env-N.sh && python bench/nightly.py [--sizes 1000 3000 10000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from medkb.db.migrate import migrate
from medkb.db.postgres import connect
from medkb.kb.client import GraphClient
from medkb.kb.schema import init_schema
from medkb.pipelines import kb_extraction, kb_refresh
from medkb.settings import Settings
from medkb.sources.medline_slice import write_slice
from medkb.sources.sample_data import BASELINE, fetch_medline_sample

STAGES = ("ingest_literature", "validate_literature", "extract", "load_graph")


def empty_stores(settings: Settings) -> None:
    with connect(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'")
        tables = [r[0] for r in cur.fetchall()]
        cur.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")  # names from the catalogue
    with GraphClient(settings.neo4j) as g:
        g.write_autocommit("MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 20000 ROWS")
        g.write_autocommit("MATCH (n) CALL (n) { DELETE n } IN TRANSACTIONS OF 20000 ROWS")
        init_schema(g)


def night(settings: Settings, run_id: str, inbox: Path) -> dict[str, Any]:
    """The DAG's stages in this process, each timed; extraction chunk by chunk as the mapped tasks do."""
    params = kb_refresh.RefreshParams(medline_drop_dir=str(inbox))
    secs: dict[str, float] = {}
    kb_refresh.begin(settings, run_id, {})
    t = time.perf_counter()
    kb_refresh.run_stage("ingest_literature", settings, run_id, params)
    secs["ingest_literature"] = time.perf_counter() - t
    t = time.perf_counter()
    kb_refresh.run_stage("validate_literature", settings, run_id, params)
    secs["validate_literature"] = time.perf_counter() - t
    t = time.perf_counter()
    chunks = kb_extraction.plan_extraction(settings, run_id)
    extract = kb_extraction.sum_counts(kb_extraction.extract_chunk(settings, run_id, c) for c in chunks)
    secs["extract"] = time.perf_counter() - t
    t = time.perf_counter()
    load = kb_refresh.run_stage("load_graph", settings, run_id, params)
    secs["load_graph"] = time.perf_counter() - t
    kb_refresh.finish(settings, run_id, {"extract": extract, "load": load})
    return {"seconds": secs, "total": sum(secs.values()), "documents": extract["extracted"], "model": extract["model"],
            "chunks": extract["chunks"], "loaded": load.get("documents", 0)}


def measure(settings: Settings, n: int, baseline: Path, work: Path) -> dict[str, Any]:
    empty_stores(settings)
    inbox = work / f"n{n}"
    inbox.mkdir(parents=True, exist_ok=True)
    write_slice(baseline, inbox / "full.xml.gz", 0, n)
    full = night(settings, f"bench-full-{n}", inbox)
    write_slice(baseline, inbox / "night.xml.gz", n, n + max(1, n // 100))
    inc = night(settings, f"bench-night-{n}", inbox)
    return {"n": n, "full": full, "night": inc, "ratio": inc["total"] / full["total"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10000])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if os.environ.get("MEDKB_ENV") != "test":
        print("bench/nightly.py empties the stores: run it with MEDKB_ENV=test (source /tmp/medkb-env-N.sh)",
              file=sys.stderr)
        return 2
    settings = Settings.from_env()
    migrate(settings)
    baseline = next(p for p in fetch_medline_sample(settings.data_dir) if p.name == BASELINE)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            r = measure(settings, n, baseline, Path(tmp))
            results.append(r)
            if not args.json:
                f, i = r["full"], r["night"]
                print(f"N={n:6d} full {f['total']:8.1f} s ({f['documents']} docs, {f['chunks']} chunks, "
                      f"model {f['model'] or '-'})  night +{i['documents']} docs {i['total']:6.1f} s  "
                      f"ratio {r['ratio'] * 100:5.2f} %", flush=True)
                print("         by stage (full / night): " + ", ".join(
                    f"{s} {f['seconds'][s]:.1f}/{i['seconds'][s]:.1f}" for s in STAGES), flush=True)
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
