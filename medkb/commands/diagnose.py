"""`medkb diagnose`: suggestions for one case, with their explanations; `--changed` re-runs the
affected cases (what the medkb_diagnose DAG runs); `--check-rules` validates the rule files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from medkb.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diagnose", help="diagnostic suggestions for a case, with explanations; --changed re-runs affected cases",
        description="CASE is a staged case key (or a unique prefix of at least 8 characters) or a FHIR bundle "
        "file (evaluated without storing anything). Suggestions come from the rule files "
        "(medkb/rules/library/rules), drug-safety matches against the graph's INDUCES edges, and the "
        "phenotype ranking over OMIM diseases.",
    )
    p.add_argument("case", nargs="?", help="case key, key prefix, or bundle file")
    p.add_argument("--explain", action="store_true", help="print each suggestion's explanation")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--changed", action="store_true",
                   help="re-evaluate the cases whose record, relevant graph facts or rule set changed; store results")
    p.add_argument("--all", action="store_true", help="with --changed: re-evaluate every case")
    p.add_argument("--rules", type=Path, action="append", help="rule file or folder (default: the library)")
    p.add_argument("--check-rules", action="store_true", help="validate the rule files and exit")
    p.add_argument("--no-graph", action="store_true", help="rules only (no drug safety, no ranking)")
    p.set_defaults(func=_run, group_parser=p)


def _run(args: argparse.Namespace) -> int:
    from medkb.rules.ruleset import load_rulesets

    ruleset = load_rulesets(args.rules)
    if args.check_rules:
        for e in ruleset.errors:
            print(f"error: {e}", file=sys.stderr)
        print(f"{len(ruleset.rules)} rule(s) in {len(ruleset.files)} file(s), version {ruleset.version}"
              + (f"; {len(ruleset.errors)} file(s) rejected" if ruleset.errors else ""))
        return 1 if ruleset.errors else 0
    for e in ruleset.errors:
        print(f"warning: rule file skipped: {e}", file=sys.stderr)
    settings = Settings.from_env()
    if args.changed:
        return _changed(settings, ruleset, args)
    if not args.case:
        print("give a CASE (key, key prefix or bundle file), or --changed", file=sys.stderr)
        return 2
    cases = _cases(settings, args.case)
    results = [_diagnose(settings, ruleset, c, use_graph=not args.no_graph) for c in cases]
    if args.format == "json":
        print(json.dumps(results[0] if len(results) == 1 else results, indent=2, default=str))
        return 0
    for r in results:
        _print_text(r, args.explain)
    return 0


def _cases(settings: Settings, ref: str) -> list[Any]:
    path = Path(ref)
    if path.suffix == ".json" and path.exists():
        from medkb.rules.store import cases_from_bundle
        from medkb.sources.pseudonym import Pseudonymiser

        return cases_from_bundle(path, Pseudonymiser(settings.pseudonym_key))
    from medkb.db.postgres import connect, fetch_all
    from medkb.rules.store import load_cases

    with connect(settings) as conn:
        if len(ref) < 8:
            raise SystemExit(f"case {ref!r}: give at least 8 characters of the case key")
        rows = fetch_all(conn, "SELECT DISTINCT source, case_key FROM staged_cases WHERE case_key LIKE %s LIMIT 3",
                         (ref.replace("%", "") + "%",))
        if not rows:
            raise SystemExit(f"case {ref[:12]}…: not in staging (`medkb ingest fhir` stages bundles)")
        if len(rows) > 1:
            raise SystemExit(f"case {ref[:12]}…: prefix matches several cases; give more characters")
        return list(load_cases(conn, [(rows[0]["source"], rows[0]["case_key"])]))


def _diagnose(settings: Settings, ruleset: Any, case: Any, use_graph: bool) -> dict[str, Any]:
    from medkb.rules.diagnose import diagnose_case

    if not use_graph:
        return diagnose_case(case, ruleset, None, None).evaluation.as_dict() | {"ruleset": ruleset.version}
    from medkb.kb.client import GraphClient
    from medkb.rules.incremental import _ranking_index
    from medkb.rules.mapping import ConceptMapper

    with GraphClient(settings.neo4j) as graph:
        result = diagnose_case(case, ruleset, graph, ConceptMapper(graph), _ranking_index(graph, settings.data_dir))
    return result.evaluation.as_dict() | {"ruleset": ruleset.version, "touched": sorted(result.touched)}


def _print_text(r: dict[str, Any], explain: bool) -> None:
    print(f"case {r['case'][:12]}… ({r['source']}), as of {r['as_of']}, rule set {r['ruleset']}")
    for n in r["notes"]:
        print(f"  note: {n}")
    if not r["suggestions"]:
        print("  no suggestions")
    for s in r["suggestions"]:
        if explain:
            print("  " + s["text"].replace("\n", "\n  "))
        else:
            print(f"  {s['name']} ({s['strength']}) [{s['key']}]")
    for n in r["not_evaluable"]:
        print(f"  not evaluable: {n['rule']}: {n['reason']}")


def _changed(settings: Settings, ruleset: Any, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from medkb.rules.incremental import rerun_changed

    with tqdm(desc="cases", unit="case", disable=not sys.stderr.isatty()) as bar:
        summary = rerun_changed(settings, ruleset, force_all=args.all, progress=bar.update)
    data = dict(summary.__dict__)
    if args.format == "json":
        print(json.dumps(data, indent=2, default=str))
    else:
        print(f"{summary.run_id}: {summary.evaluated} of {summary.cases_total} case(s) re-evaluated "
              f"({', '.join(f'{k} {v}' for k, v in sorted(summary.reasons.items())) or 'nothing changed'}); "
              f"{summary.unchanged} unchanged; suggestions new {summary.diffs['new']}, changed "
              f"{summary.diffs['changed']}, withdrawn {summary.diffs['withdrawn']}; {summary.seconds:.1f} s")
        for f in summary.failed:
            print(f"  failed: {f}", file=sys.stderr)
    return 1 if summary.failed else 0
