"""`medkb kb ...`: the Neo4j knowledge graph."""

from __future__ import annotations

import argparse

from medkb.kb.client import GraphClient
from medkb.kb.schema import init_schema
from medkb.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("kb", help="Neo4j knowledge graph: schema, statistics")
    p.set_defaults(group_parser=p)
    s = p.add_subparsers(dest="kb_command", metavar="SUBCOMMAND")
    s.add_parser("init", help="create the graph's constraints and indexes (idempotent)").set_defaults(func=_init)
    s.add_parser("stats", help="count nodes per label and relationships per type").set_defaults(func=_stats)


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
