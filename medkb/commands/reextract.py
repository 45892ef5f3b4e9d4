"""`medkb kb reextract`: the graph's evidence follows the champion after a promotion (issue 17)."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from medkb.settings import Settings


def register(kb_sub: argparse._SubParsersAction) -> None:
    """Add `reextract` to the `medkb kb` subcommands."""
    p = kb_sub.add_parser(
        "reextract",
        help="re-extract and load the documents whose evidence is not the serving model's (resumable)",
        description="Extracts again, with the serving model (the registry's champion), every loaded document "
        "whose current extraction is another model's, in batches: the older model's rows and evidence are "
        "marked superseded in the transaction that writes the new ones, and the summary edges count current "
        "evidence only. A run that is killed is resumed by running the command again. "
        "`medkb kb rollback RUN` undoes a re-extraction run (graph and Postgres).",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--since", type=dt.date.fromisoformat, metavar="DATE",
                       help="only documents staged on or after DATE (YYYY-MM-DD)")
    which.add_argument("--all", action="store_true", help="every loaded document")
    p.add_argument("--model", metavar="VERSION",
                   help="the version to extract with; must be the serving model (refused otherwise)")
    p.add_argument("--run-id", help="continue or name this run (default: resume an unfinished one, else a new id)")
    p.add_argument("--batch-size", type=int, default=256, help="documents per batch (default 256)")
    p.set_defaults(func=_reextract)


def _reextract(args: argparse.Namespace) -> int:
    from medkb.pipelines.reextract import reextract

    summary = reextract(Settings.from_env(), since=None if args.all else args.since, model=args.model,
                        run_id=args.run_id, batch_size=args.batch_size)
    print(json.dumps(summary.as_dict(), indent=2, default=str))
    return 0
