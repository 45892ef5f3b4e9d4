"""`medkb refresh`: the nightly refresh in one process, without Airflow (the DAG runs the same stages)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from medkb import nightly
from medkb.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "refresh",
        help="run the nightly refresh stages in this process (the Airflow DAG medkb_kb_refresh runs the same)",
    )
    p.add_argument("--run-id", help="run id (default: manual__<UTC timestamp>); reuse one to re-run a night")
    p.add_argument("--file", action="append", dest="files", help="MEDLINE file (repeatable; default: the sample baseline)")
    p.add_argument("--limit", type=int, default=None, help="take at most N citations per file")
    p.set_defaults(func=_refresh)


def _refresh(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    run_id = args.run_id or "manual__" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    nightly.begin(settings, run_id, {"files": args.files, "limit": args.limit})
    counts = {
        "ingest": nightly.ingest_literature(settings, run_id, args.files, args.limit),
        "validate": nightly.validate_literature(settings, run_id),
        "extract": nightly.extract_literature(settings, run_id),
        "load": nightly.load_graph(settings, run_id),
    }
    print(json.dumps(nightly.finish(settings, run_id, counts), indent=2, default=str))
    return 0
