"""The `medkb` command. Each group of subcommands lives in `medkb/commands/<group>.py`."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from medkb import __version__

# Each module exposes `register(subparsers)`; its subcommands set `func(args) -> int`.
COMMAND_MODULES = (
    "medkb.commands.db",
    "medkb.commands.kb",
    "medkb.commands.data",
    "medkb.commands.refresh",
    "medkb.commands.ingest",
    "medkb.commands.quarantine",
    "medkb.commands.cypher",
    "medkb.commands.train",
    "medkb.commands.model",
    "medkb.commands.eval",
    "medkb.commands.relations",  # train re, eval relations (after train and eval)
    "medkb.commands.diagnose",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="medkb",
        description="MedKB keeps a medical knowledge graph current: literature and records in, "
        "evidence-backed facts out. Settings come from the environment (see ops/env.sh).",
    )
    parser.add_argument("--version", action="version", version=f"medkb {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    func = getattr(args, "func", None)
    if func is None:
        # a group given without its subcommand: show that group's help
        (getattr(args, "group_parser", None) or parser).print_help()
        return 2
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one clear line for the operator; -v shows the traceback
        if args.verbose:
            raise
        print(f"medkb {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
