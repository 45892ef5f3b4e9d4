"""`medkb ingest phenopacket FILE|DIR`: stage GA4GH phenopackets as cases, then validate them."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from medkb.settings import Settings


def add_parser(s: argparse._SubParsersAction, run: Callable[..., int]) -> None:
    p = s.add_parser("phenopacket", help="GA4GH Phenopackets v2 (.json, or .jsonl[.gz] of flattened records, "
                     "or folders of them); cases are pseudonymised and validated")
    p.add_argument("paths", nargs="+", type=Path, metavar="FILE|DIR")
    p.add_argument("--run-id")
    p.set_defaults(func=lambda args: run("phenopacket", args, lambda st, r, prog: ingest_and_validate(
        st, args.paths, r, prog)))


def ingest_and_validate(settings: Settings, paths: list[Path], run_id: str,
                        progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    from medkb.db.postgres import connect
    from medkb.sources.hpo_ids import read_hpo_id_map
    from medkb.sources.ontologies import fetch_hpo_files
    from medkb.staging.phenopackets import ingest_phenopacket_paths
    from medkb.validation.phenopackets import validate_staged_phenopackets

    ids = read_hpo_id_map(fetch_hpo_files(settings.data_dir)["hp.obo"])
    counts = ingest_phenopacket_paths(settings, paths, run_id, ids, progress)
    with connect(settings) as conn:
        outcome = validate_staged_phenopackets(conn, run_id)
    return {**counts, **{f"validation_{k}": v for k, v in outcome.as_dict().items()}}
