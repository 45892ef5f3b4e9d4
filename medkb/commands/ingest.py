"""`medkb ingest ...`: run one source by hand, outside Airflow, and print what it staged."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from medkb.db.postgres import connect
from medkb.settings import Settings
from medkb.staging.runs import finish_run, start_run

_ORDER = ("staged", "updated", "unchanged", "retracted", "quarantined")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ingest", help="stage one source by hand: medline, pubtator, bioc, fhir, phenopacket, pubmed",
        description="Stage records from one source into Postgres (state `staged`) and print how many "
        "were staged, updated, retracted and quarantined. Exits non-zero only when the run as a whole failed.",
    )
    p.set_defaults(group_parser=p)
    s = p.add_subparsers(dest="ingest_command", metavar="SOURCE")

    m = s.add_parser("medline", help="MEDLINE/PubMed XML files (.xml or .xml.gz; baseline or update)")
    m.add_argument("files", nargs="+", type=Path, metavar="FILE")
    m.add_argument("--limit", type=int, help="take at most N records from each file")
    m.add_argument("--run-id", help="record the run under this id (default: manual-medline-<time>)")
    m.set_defaults(func=_medline)

    t = s.add_parser("pubtator", help="PubTator files (title|abstract lines + annotations)")
    t.add_argument("files", nargs="+", type=Path, metavar="FILE")
    t.add_argument("--run-id")
    t.set_defaults(func=_pubtator)

    b = s.add_parser("bioc", help="BioC XML collections")
    b.add_argument("files", nargs="+", type=Path, metavar="FILE")
    b.add_argument("--run-id")
    b.set_defaults(func=_bioc)

    f = s.add_parser("fhir", help="FHIR R4 bundles (JSON files, or folders of them); patients are pseudonymised")
    f.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    f.add_argument("--run-id")
    f.set_defaults(func=_fhir)

    from medkb.commands import phenopacket

    phenopacket.add_parser(s, _run)

    e = s.add_parser("pubmed", help="PubMed E-utilities: citations entered in a date window")
    e.add_argument("--from", dest="date_from", required=True, type=_date, help="first day, YYYY-MM-DD")
    e.add_argument("--to", dest="date_to", required=True, type=_date, help="last day, YYYY-MM-DD")
    e.add_argument("--term", default="", help="extra query terms (default: everything in the window)")
    e.add_argument("--date-type", default="edat", choices=("edat", "mhda", "pdat"), help="entry, MeSH or publication date")
    e.add_argument("--base-url", help="E-utilities base URL (default: NCBI; env MEDKB_EUTILS_URL)")
    e.add_argument("--batch-size", type=int, default=500, help="citations per efetch request (max 10000)")
    e.add_argument("--run-id")
    e.set_defaults(func=_pubmed)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def _run(source: str, args: argparse.Namespace, work: Callable[[Settings, str, Callable[[int], None]], dict]) -> int:
    settings = Settings.from_env()
    run_id = args.run_id or f"manual-{source}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
    with connect(settings) as conn:
        start_run(conn, run_id, f"ingest_{source}", {k: str(v) for k, v in vars(args).items() if k != "func"})
    bar = tqdm(desc=f"{source}", unit=" rec", leave=False)
    try:
        counts = work(settings, run_id, bar.update)
    except Exception as exc:
        bar.close()
        with connect(settings) as conn:
            finish_run(conn, run_id, "failed", {"error": str(exc)})
        raise
    bar.close()
    with connect(settings) as conn:
        finish_run(conn, run_id, "succeeded", counts)
    print(_summary(source, run_id, counts))
    return 0


def _summary(source: str, run_id: str, counts: dict[str, Any]) -> str:
    main = ", ".join(f"{k} {counts.get(k, 0)}" for k in _ORDER)
    extra = ", ".join(f"{k} {v}" for k, v in counts.items() if k not in _ORDER and v)
    return f"{source} ({run_id}): {main}" + (f" [{extra}]" if extra else "")


def _medline(args: argparse.Namespace) -> int:
    from medkb.sources.medline import SOURCE, read_medline
    from medkb.staging.ingest import ingest_files

    return _run("medline", args, lambda s, r, p: ingest_files(
        s, args.files, r, read_medline, SOURCE, limit=args.limit, progress=p))


def _pubtator(args: argparse.Namespace) -> int:
    from medkb.sources.literature_files import read_pubtator_citations
    from medkb.staging.ingest import ingest_files

    return _run("pubtator", args, lambda s, r, p: ingest_files(
        s, args.files, r, read_pubtator_citations, "pubtator", progress=p))


def _bioc(args: argparse.Namespace) -> int:
    from medkb.sources.bioc import read_bioc
    from medkb.staging.ingest import ingest_files

    return _run("bioc", args, lambda s, r, p: ingest_files(s, args.files, r, read_bioc, "bioc", progress=p))


def _fhir(args: argparse.Namespace) -> int:
    from medkb.staging.clinical_records import ingest_fhir_paths

    return _run("fhir", args, lambda s, r, p: ingest_fhir_paths(s, args.paths, r, progress=p))


def _pubmed(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from medkb.sources.pubmed import EutilsClient, EutilsConfig
    from medkb.staging.pubmed import ingest_pubmed_window

    client = EutilsClient(replace(EutilsConfig.from_env(args.base_url), batch_size=args.batch_size))
    return _run("pubmed", args, lambda s, r, p: ingest_pubmed_window(
        s, args.date_from, args.date_to, r, term=args.term, date_type=args.date_type, progress=p, client=client))
