"""`medkb refresh`: the KB refresh in one process, without Airflow: the stages of
`medkb.pipelines.kb_refresh.STAGES` in order, the same ones the DAG medkb_kb_refresh runs."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from medkb.pipelines import kb_refresh
from medkb.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "refresh",
        help="run the KB refresh stages in this process (the same stages the Airflow DAG medkb_kb_refresh runs)",
        description="Stages, in order: " + ", ".join(s.name for s in kb_refresh.STAGES) + ". A literature "
        "source is needed: --file, --medline-drop-dir or --pubmed.",
    )
    p.add_argument("--run-id", help="run id (default: manual__<UTC timestamp>); reuse one to re-run a night")
    p.add_argument("--file", action="append", dest="files", help="MEDLINE file (repeatable)")
    p.add_argument("--medline-drop-dir", default=None, help="a folder of MEDLINE files (*.xml, *.xml.gz)")
    p.add_argument("--limit", type=int, default=None, help="take at most N citations per file")
    p.add_argument("--pubmed", action="store_true", help="also fetch new PubMed citations up to --until "
                   "(E-utilities; needs network and MEDKB_NCBI_EMAIL/MEDKB_NCBI_API_KEY)")
    p.add_argument("--pubmed-term", default="", help="restrict the PubMed search (default: everything)")
    p.add_argument("--until", default=None, help="last day of the PubMed window, YYYY-MM-DD (default: today, UTC)")
    p.add_argument("--fhir-drop-dir", default=None, help="FHIR bundles (default <data_dir>/fhir/inbox)")
    p.set_defaults(func=_refresh)


def _refresh(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    now = datetime.now(UTC)
    run_id = args.run_id or "manual__" + now.strftime("%Y%m%dT%H%M%S")
    params = kb_refresh.RefreshParams(
        medline_files=tuple(args.files or ()), medline_drop_dir=args.medline_drop_dir, limit=args.limit, pubmed=args.pubmed, pubmed_term=args.pubmed_term,
        until=args.until or now.date().isoformat(), fhir_drop_dir=args.fhir_drop_dir,
    )
    print(json.dumps(kb_refresh.run_night(settings, run_id, params), indent=2, default=str))
    return 0
