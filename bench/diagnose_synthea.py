"""Synthea evaluation of the diagnostic rules: sensitivity and PPV per condition.

A cohort generated with a fixed seed and reference date (cached under $MEDKB_DATA_DIR by
`medkb.sources.sample_data.generate_patients`), read with the same FHIR reader and case builder as
staging. Synthea's own Conditions are hidden from the rules and used as the truth; the rules see
labs, vitals and medications only (the notes state diagnoses outright, and their Vital Signs and
Medications sections repeat the coded observations and prescriptions the rules already read).
A patient counts as having a condition when Synthea recorded it with an onset on or before the
reference date.

    python bench/diagnose_synthea.py [--patients 500] [--json] [--bundles DIR] [--details COND]
        [--exclude-bundles DIR] [--coverage]

`synthea_section(args) -> dict` is what bench/diagnose.py merges under "synthea".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Synthea's SNOMED codes for each condition the rules suggest (the truth), and the rule that suggests it.
TRUTH: dict[str, tuple[str, set[str]]] = {
    "anaemia": ("anaemia", {"271737000"}),
    "hypertension": ("hypertension", {"59621000", "38341003"}),
    "hyperlipidaemia": ("hyperlipidaemia", {"55822004"}),
    "hypertriglyceridaemia": ("hypertriglyceridaemia", {"302870006"}),
    "ckd": ("ckd", {"431855005", "431856006", "433144002", "431857002", "46177005", "709044004"}),
    "obesity": ("obesity", {"162864005", "408512008"}),
    "prediabetes": ("prediabetes", {"714628002"}),
    "type_2_diabetes": ("type-2-diabetes", {"44054006"}),
}
REAL_TEST = ("anaemia", "hypertension", "hyperlipidaemia", "hypertriglyceridaemia", "ckd")
PSEUDONYM_KEY = "bench-diagnose-synthea"  # the bench's own key: no real patient is involved


def _cohort(args: argparse.Namespace) -> Path:
    if args.bundles:
        return Path(args.bundles)
    from medkb.settings import data_dir_from_env
    from medkb.sources.sample_data import generate_patients

    data_dir = data_dir_from_env()
    cohort = data_dir / "fhir" / "cohorts" / f"p{args.patients}-s{args.seed}-r{args.reference_date}"
    # inbox = the cache itself: generated once, nothing copied
    generate_patients(data_dir, args.patients, args.seed, args.reference_date, inbox=cohort)
    return cohort


def _reader_version() -> str:
    """The cache holds what the FHIR reader produced; it is rebuilt when the reader changes."""
    h = hashlib.sha256()
    for p in ("medkb/sources/fhir.py", "medkb/sources/pseudonym.py", "medkb/sources/clinical_records.py",
              "medkb/rules/store.py"):
        h.update((ROOT / p).read_bytes())
    return h.hexdigest()[:12]


def load_cohort_cases(folder: Path, limit: int | None = None, exclude: Path | None = None) -> list[Any]:
    """Cases of every bundle in the folder. Reading FHIR costs seconds per patient, so the reader's
    rows are cached per bundle; cases (units, the case model) are built from them on every run."""
    from tqdm import tqdm

    from medkb.rules.case import build_case
    from medkb.rules.store import bundle_rows
    from medkb.settings import data_dir_from_env
    from medkb.sources.pseudonym import Pseudonymiser

    files = sorted(folder.glob("*.json"))[:limit]
    if exclude is not None:  # a held-out part: the bundles of another cohort (same names, same bytes) left out
        seen = {f.name for f in Path(exclude).glob("*.json")}
        files = [f for f in files if f.name not in seen]
    cache_dir = data_dir_from_env() / "bench-cache" / "diagnose-synthea" / f"rows-{_reader_version()}"
    cache_dir.mkdir(parents=True, exist_ok=True)
    p = Pseudonymiser(PSEUDONYM_KEY)
    cases = []
    for f in tqdm(files, desc="cases", unit="patient", disable=len(files) < 20):
        digest = hashlib.sha256(f.read_bytes()).hexdigest()[:16]
        cached = cache_dir / f"{digest}.pkl"
        if cached.exists():
            rows = pickle.loads(cached.read_bytes())  # noqa: S301 (the bench's own cache)
        else:
            rows = bundle_rows(f, p)
            tmp = cached.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps(rows))
            tmp.replace(cached)
        cases.extend(build_case(h, r) for h, r in rows)
    return cases


def truth_of(case: Any, as_of: date) -> set[str]:
    codes = {c.code for c in case.conditions if c.at is None or c.at.date() <= as_of}
    return {name for name, (_rule, snomed) in TRUTH.items() if codes & snomed}


def score(cases: list[Any], ruleset: Any, as_of: date) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    from medkb.rules.engine import evaluate_case

    counts = {name: {"tp": 0, "fp": 0, "fn": 0, "tn": 0, "not_evaluable": 0} for name in TRUTH}
    per_case: dict[str, Any] = {}
    start = time.perf_counter()
    for case in cases:
        truth = truth_of(case, as_of)
        ev = evaluate_case(case.without_conditions(), ruleset, as_of=as_of)
        fired = {s.key.removeprefix("rule:") for s in ev.suggestions}
        skipped = {n.rule_id for n in ev.not_evaluable}
        per_case[case.case_key] = {"truth": truth, "fired": fired, "case": case}
        for name, (rule, _codes) in TRUTH.items():
            yes, pred = name in truth, rule in fired
            key = "tp" if yes and pred else "fp" if pred else "fn" if yes else "tn"
            counts[name][key] += 1
            counts[name]["not_evaluable"] += rule in skipped
    seconds = time.perf_counter() - start
    out = {}
    for name, c in counts.items():
        sens = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else None
        ppv = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else None
        out[name] = {"sensitivity": sens, "ppv": ppv, "positives": c["tp"] + c["fn"], **c}
    return out, {"cases": len(cases), "rules_cases_per_s": len(cases) / seconds if seconds else None,
                 "per_case": per_case}


def synthea_section(args: argparse.Namespace) -> dict[str, Any]:
    """The "synthea" section of bench/diagnose.py's JSON: {condition: {sensitivity, ppv, ...}, ...}."""
    from medkb.rules.ruleset import load_rulesets

    args = _defaults(args)
    folder = _cohort(args)
    cases = load_cohort_cases(folder, args.limit, args.exclude_bundles)
    ruleset = load_rulesets(strict=True)
    as_of = date(int(args.reference_date[:4]), int(args.reference_date[4:6]), int(args.reference_date[6:]))
    table, meta = score(cases, ruleset, as_of)
    section: dict[str, Any] = dict(table)
    section["_meta"] = {"cases": meta["cases"], "ruleset": ruleset.version, "seed": args.seed,
                        "reference_date": args.reference_date, "cohort": folder.name,
                        "excluded": str(args.exclude_bundles) if args.exclude_bundles else None,
                        "rules_cases_per_s": meta["rules_cases_per_s"],
                        "target": "PPV >= 0.8 at sensitivity >= 0.9 for " + ", ".join(REAL_TEST)}
    if getattr(args, "details", None):
        _details(meta["per_case"], args.details, as_of)
    if getattr(args, "coverage", False):
        section["_meta"]["mapping_coverage"] = mapping_coverage(cases)
    return section


def mapping_coverage(cases: list[Any]) -> dict[str, Any]:
    """How much of the cohort's drugs and conditions reach the graph's MeSH/HPO concepts (the graph
    that MEDKB_NEO4J_* points at, seeded with `medkb kb seed`)."""
    from medkb.kb.client import GraphClient
    from medkb.rules.mapping import ConceptMapper, coverage
    from medkb.settings import Settings

    meds = [m for c in cases for m in c.medications]
    conds = [x for c in cases for x in c.conditions if "(disorder)" in x.display or "(finding)" in x.display]
    with GraphClient(Settings.from_env().neo4j) as graph:
        return coverage(ConceptMapper(graph), meds, conds)


def _details(per_case: dict[str, Any], name: str, as_of: date) -> None:
    """Print the errors for one condition with the readings that matter (development aid)."""
    rule = TRUTH[name][0]
    for info in per_case.values():
        yes, pred = name in info["truth"], rule in info["fired"]
        if yes == pred:
            continue
        c = info["case"]
        onset = [x.at.date().isoformat() for x in c.conditions if x.code in TRUTH[name][1] and x.at]
        print(f"{'FN' if yes else 'FP'} {c.gender} b{c.birth_year} onset={onset[:1]} "
              f"meds={sorted({m.display.split(' ')[0] for m in c.medications})[:8]}")
        for code in {"anaemia": ["718-7"], "hypertension": ["8480-6", "8462-4"], "hyperlipidaemia": ["2093-3", "18262-6"],
                     "hypertriglyceridaemia": ["2571-8"], "ckd": ["33914-3"]}.get(name, []):
            obs = c.observations_of([code])
            print("   ", code, [(o.at.date().isoformat()[:7], round(o.value, 1)) for o in obs if o.value is not None][-12:])


def _defaults(args: argparse.Namespace) -> argparse.Namespace:
    for k, v in {"patients": 500, "seed": 42, "reference_date": "20250101", "bundles": None, "limit": None, "exclude_bundles": None,
                 "details": None, "coverage": False}.items():
        if not hasattr(args, k):
            setattr(args, k, v)
    return args


def _fmt(v: float | None) -> str:
    return "  n/a" if v is None else f"{v:5.2f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reference-date", default="20250101")
    parser.add_argument("--bundles", help="score the bundles in this folder instead of the cached cohort")
    parser.add_argument("--limit", type=int, help="only the first N bundles")
    parser.add_argument("--exclude-bundles", type=Path, metavar="DIR",
                        help="leave out the bundles whose names are in DIR (e.g. the part the rules were fitted on)")
    parser.add_argument("--details", choices=sorted(TRUTH), help="print the misclassified cases of one condition")
    parser.add_argument("--coverage", action="store_true",
                        help="also report how much of the cohort's RxNorm/SNOMED codes map to the graph (needs Neo4j)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    section = synthea_section(args)
    if args.json:
        print(json.dumps(section, indent=2, default=str))
        return
    meta = section.pop("_meta")
    left_out = f" (bundles in {meta['excluded']} left out)" if meta.get("excluded") else ""
    print(f"Synthea cohort {meta['cohort']}{left_out}: {meta['cases']} patients, rule set {meta['ruleset']}, "
          f"{meta['rules_cases_per_s']:.0f} cases/s (rules only)")
    print(f"{'condition':24} {'pos':>4} {'sens':>5} {'PPV':>5}   tp  fp  fn  not-evaluable")
    for name, row in section.items():
        mark = " *" if name in REAL_TEST else ""
        print(f"{name + mark:24} {row['positives']:4d} {_fmt(row['sensitivity'])} {_fmt(row['ppv'])} "
              f"{row['tp']:4d}{row['fp']:4d}{row['fn']:4d}  {row['not_evaluable']}")
    print(f"* the real test ({meta['target']})")
    if "mapping_coverage" in meta:
        for k, v in meta["mapping_coverage"].items():
            print(f"mapping {k}: {v['codes_mapped']} of {v['codes']} distinct codes ({v['code_share']}), "
                  f"{v['record_share']} of {v['records']} records")


if __name__ == "__main__":
    main()
