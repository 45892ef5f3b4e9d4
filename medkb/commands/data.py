"""`medkb data ...`: the bundled sample data."""

from __future__ import annotations

import argparse

from medkb.settings import Settings
from medkb.sources.sample_data import fetch_medline_sample


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="sample data: fetch the bundled MEDLINE files")
    p.set_defaults(group_parser=p)
    s = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    sm = s.add_parser("sample", help="fetch the MEDLINE sample files into the data directory")
    sm.set_defaults(func=_sample)


def _sample(args: argparse.Namespace) -> int:
    for path in fetch_medline_sample(Settings.from_env().data_dir):
        print(path)
    return 0
