"""`medkb cypher 'QUERY'` and `medkb query NAME`: read-only access to the graph for analysts."""

from __future__ import annotations

import argparse

from medkb.kb.analyst import FORMATS, format_rows, parse_params, run_named, run_read
from medkb.kb.client import GraphClient
from medkb.kb.queries import all_queries
from medkb.settings import Settings

_PARAM_HELP = (
    "a query parameter as name=value (repeatable); JSON values keep their type "
    "(--param limit=5, --param ids='[\"HP:0001250\"]'), anything else is a string"
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cypher",
        help="run a read-only Cypher query against the knowledge graph",
        description="Runs QUERY in a READ transaction: statements that write are refused by the server. "
        "Example: medkb cypher 'MATCH (c:Chemical {id: $id})-[i:INDUCES]->(d) RETURN d.name, i.docs' "
        "--param id=MESH:D008094",
    )
    p.add_argument("query", help="the Cypher text; pass values as $parameters, not pasted into the text")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help=_PARAM_HELP)
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    p.set_defaults(func=_cypher)

    q = sub.add_parser(
        "query",
        help="run a named, documented analyst query (medkb query --list shows them)",
        description="Named queries live in medkb/kb/queries/*.cypher; each file's header documents "
        "its parameters. Example: medkb query induced_diseases --param chemical=MESH:D008094",
    )
    q.add_argument("name", nargs="?", help="the query's name")
    q.add_argument("--list", action="store_true", help="list the named queries with their parameters")
    q.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help=_PARAM_HELP)
    q.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    q.set_defaults(func=_query, group_parser=q)


def _cypher(args: argparse.Namespace) -> int:
    params = parse_params(args.param)
    with GraphClient(Settings.from_env().neo4j) as graph:
        rows = run_read(graph, args.query, params)
    print(format_rows(rows, args.format))
    return 0


def _query(args: argparse.Namespace) -> int:
    if args.list or not args.name:
        for query in all_queries().values():
            print(query.usage())
        return 0 if args.list else 2
    params = parse_params(args.param)
    with GraphClient(Settings.from_env().neo4j) as graph:
        rows = run_named(graph, args.name, params)
    print(format_rows(rows, args.format))
    return 0
