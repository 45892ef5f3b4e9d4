"""Benchmark: re-extraction end to end (extract + supersede + load), and what superseding costs.

    python bench/reextract.py --docs 2000 [--ner-dir models/releases/ner-20261201-1] [--threads 2] [--batch-size 256]

Uses the test services (MEDKB_ENV=test) and EMPTIES the test Postgres database and the test Neo4j.
Stages the first N citations of the MEDLINE sample baseline (30,000 citations), extracts and loads
them with model A (the dictionary extractor, `dictionary-v1`) through the night's own stages, then
re-extracts them with model B (`medkb.pipelines.reextract.reextract`): a trained NER model from
`--ner-dir` at NER speed, else the same dictionary under another version (every document's
evidence is superseded and written again: the write path's worst case). Finally, for the cost of
superseding, the same documents' B rows are loaded into an empty graph as a first load, by the
night's load stage, and compared with the re-extraction's graph side. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from medkb.db.migrate import migrate
from medkb.db.postgres import connect, execute, fetch_all
from medkb.kb.client import GraphClient
from medkb.kb.schema import init_schema
from medkb.settings import Settings

FULL_FILE = 30_000


def _empty(settings: Settings) -> None:
    with connect(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'")
        # names come from the catalogue, quoted as identifiers
        cur.execute("TRUNCATE " + ", ".join(f'"{r[0]}"' for r in cur.fetchall()) + " CASCADE")
    _empty_graph(settings)


def _empty_graph(settings: Settings) -> None:
    with GraphClient(settings.neo4j) as g:
        g.write_autocommit("MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 20000 ROWS")
        g.write_autocommit("MATCH (n) CALL (n) { DELETE n } IN TRANSACTIONS OF 20000 ROWS")
        init_schema(g)


def _graph_counts(settings: Settings) -> dict[str, int]:
    with GraphClient(settings.neo4j) as g:
        rows = g.read("MATCH ()-[r:EVIDENCE|MENTIONS]->() RETURN type(r) + CASE WHEN r.superseded_by_run IS NULL "
                      "THEN '' ELSE '_superseded' END AS k, count(*) AS n")
    return {r["k"]: r["n"] for r in rows}


def _model_b(settings: Settings, ner_dir: str | None, threads: int) -> Any:
    from medkb.nlp import serving

    if ner_dir:
        import torch

        from medkb.nlp.ner import TransformerTagger

        torch.set_num_threads(threads)
        tagger = TransformerTagger(ner_dir, precision="auto")
        tagger.version = "ner-bench-" + os.path.basename(ner_dir.rstrip("/"))
        hpo = serving.phenotype_normaliser(str(settings.data_dir / "ontologies" / "hp.obo"))
        return serving.model_extractor(ner_dir, tagger, str(settings.data_dir), phenotypes=hpo)
    with connect(settings) as conn:
        ex = serving.build_extractor(settings, conn)  # no champion in the test registry: the dictionary
    ex.version = ex.version + "-bench-b"
    return ex


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=2000, help="citations from the baseline sample (default 2000)")
    ap.add_argument("--ner-dir", help="a trained NER model directory for model B (default: a dictionary variant)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads for --ner-dir (default 2: the 2 cores)")
    ap.add_argument("--batch-size", type=int, default=256, help="documents per re-extraction batch")
    args = ap.parse_args(argv)
    if os.environ.get("MEDKB_ENV") != "test":
        print("bench/reextract.py empties the databases it uses: run it with MEDKB_ENV=test", file=sys.stderr)
        return 2

    from medkb.pipelines import kb_refresh
    from medkb.pipelines.reextract import reextract
    from medkb.sources.sample_data import BASELINE, fetch_medline_sample
    from medkb.staging.ingest import ingest_medline_files

    os.environ["MEDKB_EXTRACTOR"] = "dictionary"  # model A: the dictionary, not the shipped champion
    settings = Settings.from_env()
    migrate(settings)
    _empty(settings)
    baseline = [p for p in fetch_medline_sample(settings.data_dir) if p.name == BASELINE]
    ingest_medline_files(settings, baseline, "bench-stage", limit=args.docs)
    with connect(settings) as conn:
        # validation is not what is measured: the staged rows go straight to `validated`
        execute(conn, "UPDATE staged_documents SET state = 'validated' WHERE state = 'staged' AND NOT retracted")
        conn.commit()
        n_docs = fetch_all(conn, "SELECT count(*) AS n FROM staged_documents WHERE state = 'validated'")[0]["n"]

    t0 = time.monotonic()
    kb_refresh.extract_literature(settings, "bench-A")  # no champion: dictionary-v1
    t1 = time.monotonic()
    load_a = kb_refresh.load_graph(settings, "bench-A")
    t2 = time.monotonic()
    print(f"# bench/reextract.py --docs {args.docs}{' --ner-dir ' + args.ner_dir if args.ner_dir else ''}, "
          f"{os.cpu_count()} CPUs seen, batch {args.batch_size}")
    print(f"N = {n_docs} documents (first {args.docs} citations of {BASELINE}, those with text)")
    print(f"model A (dictionary-v1): extract {t1 - t0:.1f} s ({n_docs / (t1 - t0):.1f} docs/s), "
          f"first load {t2 - t1:.1f} s ({load_a.get('kb_evidence', 0)} evidence, {load_a.get('kb_mention_edges', 0)} mention edges)")
    after_a = _graph_counts(settings)

    extractor_b = _model_b(settings, args.ner_dir, args.threads)
    t3 = time.monotonic()
    s = reextract(settings, extractor=extractor_b, batch_size=args.batch_size, run_id="bench-R")
    t4 = time.monotonic()
    wall = t4 - t3
    graph_side = s.load_s + s.summary_s
    print(f"model B ({s.model}): re-extraction of {s.documents} documents in {wall:.1f} s = "
          f"{s.documents / wall:.2f} docs/s end to end")
    print(f"  extract {s.extract_s:.1f} s | Postgres write + supersede {s.store_s:.1f} s | graph load + supersede "
          f"{s.load_s:.1f} s | summaries {s.summary_s:.1f} s | {s.batches} batches")
    print(f"  superseded: {s.superseded_rows} Postgres rows, {s.superseded_documents} document extractions; "
          f"graph before {after_a}, after {_graph_counts(settings)}")
    print(f"  extrapolated to the whole file ({FULL_FILE:,} citations): {FULL_FILE / (s.documents / wall) / 60:.1f} min "
          f"at this rate (linear in documents; the per-batch cost does not grow with the graph at this size)")

    # the same B rows as a first load into an empty graph: what superseding adds on the graph side
    _empty_graph(settings)
    with connect(settings) as conn:
        execute(conn, "UPDATE staged_documents SET state = 'extracted' WHERE state = 'loaded'")
        conn.commit()
    t5 = time.monotonic()
    kb_refresh.load_graph(settings, "bench-first-B")
    t6 = time.monotonic()
    first_b = t6 - t5
    print(f"first load of the same B rows into an empty graph (the night's load stage): {first_b:.1f} s")
    print(f"  re-extraction graph side (load + supersede + summaries) {graph_side:.1f} s = "
          f"{graph_side / first_b:.2f}x that first load; Postgres side {s.store_s:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
