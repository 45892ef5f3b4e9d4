"""The cost of a night as the corpus grows: a full load of N documents against a night adding 1 %.

For each N, in one run: empty the test stores, stage + validate + extract (chunked, as the DAG's
mapped tasks do) + load the first N citations of the MEDLINE baseline sample, with a file
retracting 1 % of them beside it (the full load), then drop a file with the next N/100 citations
beside those and run the same stages again (the incremental night: the already-ingested files are
skipped, only the new documents are extracted and loaded, the old retractions are not re-applied).
Prints the seconds of each stage and the ratio night / full load (the target: <= 5 %), then the
same for a next night adding another 1 %: the first night after a bulk load pays Neo4j
replanning the loader's queries (the graph's statistics moved past the planner's divergence
threshold), a night of a steady schedule seldom does.

Runs only with MEDKB_ENV=test (it empties the stores). The extractor is the registry's champion,
else the dictionary extractor; the line says which.

    source /tmp/medkb-env-N.sh && python bench/nightly.py [--sizes 1000 3000 10000] [--json] [--profile DIR]
        [--fresh-night] [--no-warm-up]

A first small full load (20 documents) runs before the measured ones and pays the process's
one-off costs (printed); --fresh-night runs each night in a new process instead, as a scheduled
night runs, and counts its wall time (interpreter, imports, extractor build, GE context).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
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
            "chunks": extract["chunks"], "loaded": load.get("documents", 0),
            "retractions_applied": load.get("kb_retracted_documents", 0)}


def write_retractions(full: Path, target: Path, every: int) -> int:
    """A MEDLINE file retracting every `every`-th citation of `full` (DeleteCitation): the corpus
    then carries retractions, as a real one does, which a night must not pay for again."""
    from medkb.sources.citations import Citation
    from medkb.sources.medline import read_medline

    keys = [r.key for r in read_medline(full) if isinstance(r, Citation)][::every]
    body = "".join(f'<PMID Version="1">{k}</PMID>' for k in keys)
    target.write_bytes(gzip.compress(
        f'<?xml version="1.0" encoding="utf-8"?>\n<PubmedArticleSet><DeleteCitation>{body}</DeleteCitation>'
        "</PubmedArticleSet>\n".encode(), mtime=0))
    return len(keys)


def warm_up(settings: Settings, baseline: Path, work: Path, n: int = 20) -> dict[str, Any]:
    """A first, small full load in this process: it pays the one-off costs (imports, building the
    extractor's normalisers, Great Expectations' first context), so the full loads measured after
    it are not charged for them; its own seconds are printed as the one-off cost."""
    empty_stores(settings)
    inbox = work / "warm-up"
    inbox.mkdir(parents=True, exist_ok=True)
    write_slice(baseline, inbox / "warm.xml.gz", 0, n)
    return night(settings, "bench-warm-up", inbox)


def measure(settings: Settings, n: int, baseline: Path, work: Path, profile: Path | None = None,
            fresh: bool = False) -> dict[str, Any]:
    empty_stores(settings)
    inbox = work / f"n{n}"
    inbox.mkdir(parents=True, exist_ok=True)
    write_slice(baseline, inbox / "full.xml.gz", 0, n)
    retracted = write_retractions(inbox / "full.xml.gz", inbox / "retractions.xml.gz", 100)  # 1 % of N
    full = night(settings, f"bench-full-{n}", inbox)
    full["retracted"] = retracted
    write_slice(baseline, inbox / "night.xml.gz", n, n + max(1, n // 100))
    if fresh:  # the night in a process of its own, as a scheduled night starts: its imports and builds count
        t = time.perf_counter()
        out = subprocess.run([sys.executable, __file__, "--night-only", str(inbox), f"bench-night-{n}"],
                             check=True, capture_output=True, text=True).stdout
        wall = time.perf_counter() - t
        inc = json.loads(out.strip().splitlines()[-1])
        inc["stages_total"], inc["total"] = inc["total"], wall
    elif profile is None:
        inc = night(settings, f"bench-night-{n}", inbox)
    else:  # the night under cProfile: its stats to PROFILE/night-N.prof, the top of them printed
        import cProfile
        import pstats

        with cProfile.Profile() as prof:
            inc = night(settings, f"bench-night-{n}", inbox)
        profile.mkdir(parents=True, exist_ok=True)
        prof.dump_stats(profile / f"night-{n}.prof")
        pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    # A second 1 % night right after: the first one pays Neo4j replanning its write queries, since
    # the full load just moved the graph's statistics past the planner's divergence threshold;
    # a night of a steady schedule (1 % more than the night before) seldom does.
    step = max(1, n // 100)
    write_slice(baseline, inbox / "night2.xml.gz", n + step, n + 2 * step)
    nxt = night(settings, f"bench-night2-{n}", inbox)
    return {"n": n, "full": full, "night": inc, "ratio": inc["total"] / full["total"],
            "next_night": nxt, "next_ratio": nxt["total"] / full["total"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10000])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--profile", type=Path, help="profile each night (cProfile): stats to DIR/night-N.prof")
    ap.add_argument("--fresh-night", action="store_true",
                    help="run each night in a new process (its wall time, imports and one-off builds included)")
    ap.add_argument("--no-warm-up", action="store_true", help="the first full load pays the one-off costs")
    ap.add_argument("--night-only", nargs=2, metavar=("INBOX", "RUN_ID"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if os.environ.get("MEDKB_ENV") != "test":
        print("bench/nightly.py empties the stores: run it with MEDKB_ENV=test (source /tmp/medkb-env-N.sh)",
              file=sys.stderr)
        return 2
    settings = Settings.from_env()
    if args.night_only:  # the --fresh-night child: one night on the stores as the parent left them
        print(json.dumps(night(settings, args.night_only[1], Path(args.night_only[0]))))
        return 0
    migrate(settings)
    baseline = next(p for p in fetch_medline_sample(settings.data_dir) if p.name == BASELINE)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_warm_up:
            w = warm_up(settings, baseline, Path(tmp))
            if not args.json:
                print(f"one-off (a first full load of {w['documents']} docs in this process): {w['total']:.1f} s; "
                      "by stage: " + ", ".join(f"{s} {w['seconds'][s]:.1f}" for s in STAGES), flush=True)
        for n in args.sizes:
            r = measure(settings, n, baseline, Path(tmp), args.profile, args.fresh_night)
            results.append(r)
            if not args.json:
                f, i = r["full"], r["night"]
                print(f"N={n:6d} full {f['total']:8.1f} s ({f['documents']} docs, {f['chunks']} chunks, "
                      f"{f['retracted']} retracted, model {f['model'] or '-'})  night +{i['documents']} docs "
                      f"{i['total']:6.1f} s ({i['retractions_applied']} retractions re-applied)  "
                      f"ratio {r['ratio'] * 100:5.2f} %", flush=True)
                print("         by stage (full / night): " + ", ".join(
                    f"{s} {f['seconds'][s]:.1f}/{i['seconds'][s]:.1f}" for s in STAGES), flush=True)
                nx = r["next_night"]
                print(f"         next night +{nx['documents']} docs {nx['total']:6.1f} s  ratio {r['next_ratio'] * 100:5.2f} %"
                      "  by stage: " + ", ".join(f"{s} {nx['seconds'][s]:.2f}" for s in STAGES), flush=True)
                if args.fresh_night:
                    print(f"         night in a new process: {r['night']['total']:.1f} s wall, stages "
                          f"{r['night']['stages_total']:.1f} s", flush=True)
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
