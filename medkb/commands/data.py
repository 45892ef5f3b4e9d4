"""`medkb data ...`: the bundled sample data."""

from __future__ import annotations

import argparse

from medkb.settings import Settings
from medkb.sources.sample_data import fetch_medline_sample, generate_patients


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="sample data: the bundled MEDLINE files and synthetic patients")
    p.set_defaults(group_parser=p)
    s = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    sm = s.add_parser(
        "sample", help="fetch the MEDLINE sample files (and generate synthetic patients) into the data directory",
        description="Fetch the two real MEDLINE files into <data_dir>/medline; with --patients N also generate "
        "N synthetic patients (Synthea, seeded, cached) into <data_dir>/fhir/inbox for `medkb ingest fhir`.",
    )
    sm.add_argument("--patients", type=int, default=0, metavar="N", help="also generate N synthetic patients")
    sm.add_argument("--seed", type=int, default=42, help="Synthea seed (default 42)")
    sm.set_defaults(func=_sample)


def _sample(args: argparse.Namespace) -> int:
    data_dir = Settings.from_env().data_dir
    for path in fetch_medline_sample(data_dir):
        print(path)
    if args.patients:
        bundles = generate_patients(data_dir, args.patients, seed=args.seed)
        print(f"{len(bundles)} patient bundles in {bundles[0].parent}" if bundles else "no patients generated")
    return 0
