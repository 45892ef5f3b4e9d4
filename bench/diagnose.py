"""Diagnostic benchmark: phenotype ranking on real phenopackets and simulated cases, a baseline,
throughput, and (from bench/diagnose_synthea.py, when present) the Synthea rule cohort.

    python bench/diagnose.py [--json] [--seed N --cases K] [--cases-file FILE]

Ranks are over every OMIM disease in the index, ties counted against the ranker; a case whose
disease is not in the index, or is left with no annotation under the own-PMID protocol (its
paper's annotation rows dropped), ranks last. The index is read from the graph (`medkb kb seed`
first) and cached under $MEDKB_DATA_DIR/cache; `--hpo-files` builds it from the seed's own files
instead (the same data; for when the graph is busy).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from medkb.rules.phenotype_index import (
    PhenotypeIndex,
    build_index,
    compute_matrices,
    inputs_from_files,
    load_index,
)
from medkb.rules.ranking import (
    DEFAULT_PARAMS,
    LR_PARAMS,
    RankingParams,
    kept_annotations,
    rank_case,
    rank_of,
    resolve_terms,
    score_terms,
)
from medkb.rules.simulate import SCENARIOS, simulate
from medkb.settings import Settings

DEV_FILE = Path(__file__).resolve().parents[2] / "shared" / "phenopackets" / "phenopackets-dev.jsonl.gz"
SAMPLE_SIZE, SAMPLE_PER_DISEASE, SAMPLE_SEED = 300, 4, 7


def read_cases(path: Path) -> list[dict[str, Any]]:
    """Gzipped (or plain) JSON lines, one case per line: id, pmid, disease, observed, excluded."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def readme_sample(cases: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The README's sample: sort by id, shuffle with Random(7), at most 4 per disease, 300 cases."""
    ordered = sorted(cases, key=lambda c: c["id"])
    random.Random(SAMPLE_SEED).shuffle(ordered)
    out: list[dict[str, Any]] = []
    per: dict[str, int] = {}
    for c in ordered:
        if per.get(c["disease"], 0) < SAMPLE_PER_DISEASE:
            out.append(c)
            per[c["disease"]] = per.get(c["disease"], 0) + 1
        if len(out) == SAMPLE_SIZE:
            break
    return out


def metrics(ranks: Sequence[int]) -> dict[str, Any]:
    r = np.asarray(ranks)
    if not len(r):
        return {"cases": 0}
    return {"cases": int(len(r)), "top1": round(float((r <= 1).mean()), 4), "top3": round(float((r <= 3).mean()), 4),
            "top10": round(float((r <= 10).mean()), 4), "median_rank": float(np.median(r))}


class Baseline:
    """Count of exactly matching annotated terms (what `diseases_for_phenotypes` orders by)."""

    def __init__(self, index: PhenotypeIndex) -> None:
        self.index = index
        self.by_term: dict[int, list[int]] = {}
        for d, terms in enumerate(index.ann_terms):
            for t in terms.tolist():
                self.by_term.setdefault(t, []).append(d)

    def scores(self, observed: Sequence[int], drop: Sequence[str] = ()) -> np.ndarray:
        s = np.zeros(self.index.n_diseases)
        for t in observed:
            s[self.by_term.get(t, [])] += 1
        if drop:
            for d in set().union(*(self.index.ref_diseases.get(r, set()) for r in drop)):
                kept = set(kept_annotations(self.index, d, drop)[0].tolist())
                s[d] = sum(1 for t in observed if t in kept) if kept else -np.inf
        return s


def rank_real(index: PhenotypeIndex, cases: Sequence[dict[str, Any]], params: RankingParams, own_pmid: bool,
              baseline: Baseline) -> tuple[list[int], list[int], int]:
    """(ranker ranks, baseline ranks, cases whose disease has no annotation left)."""
    pos = {d: i for i, d in enumerate(index.disease_ids)}
    ranks, base, emptied = [], [], 0
    for c in cases:
        d = pos.get(c["disease"])
        drop = [c["pmid"]] if own_pmid and c.get("pmid") else []
        terms = resolve_terms(index, c.get("observed", []), c.get("excluded", []), params)
        if d is None:
            ranks.append(index.n_diseases)
            base.append(index.n_diseases)
            continue
        s = score_terms(index, terms, params, drop)
        emptied += int(not np.isfinite(s[d]))
        ranks.append(rank_of(s, d))
        base.append(rank_of(baseline.scores(terms.observed, drop), d))
    return ranks, base, emptied


def phenopacket_section(index: PhenotypeIndex, cases: list[dict[str, Any]], params: RankingParams,
                        baseline: Baseline, sample: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    out: dict[str, Any] = {}
    base_out: dict[str, Any] = {}
    parts = [("all", cases)] + ([("sample300", readme_sample(cases))] if sample else [])
    for name, part in parts:
        r, b, _ = rank_real(index, part, params, False, baseline)
        rf, bf, emptied = rank_real(index, part, params, True, baseline)
        sec = {**metrics(r), "own_pmid_filtered": {**metrics(rf), "no_annotation_left": emptied}}
        bsec = {**metrics(b), "own_pmid_filtered": metrics(bf)}
        sec["diseases_not_in_index"] = sum(1 for c in part if c["disease"] not in set(index.disease_ids))
        if name == "all":
            out.update(sec)
            base_out.update(bsec)
        else:
            out[name], base_out[name] = sec, bsec
    return out, base_out


def simulated_section(index: PhenotypeIndex, params: RankingParams, baseline: Baseline, seed: int,
                      n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    out, base = {}, {}
    for sc in SCENARIOS:
        ranks, branks = [], []
        for case in simulate(index, sc, n, seed):
            terms = resolve_terms(index, case.observed, (), params)
            ranks.append(rank_of(score_terms(index, terms, params), case.disease))
            branks.append(rank_of(baseline.scores(terms.observed), case.disease))
        out[sc.name], base[sc.name] = metrics(ranks), metrics(branks)
    return out, base


def throughput_section(index: PhenotypeIndex, cases: list[dict[str, Any]], params: RankingParams) -> dict[str, Any]:
    """Cases per second through `rank_case` (top 10 with every term's contribution, own-PMID on) and
    through the score alone; wall clock and this process's CPU time (the machine is shared)."""
    out: dict[str, Any] = {"cases": len(cases), "diseases": index.n_diseases}
    for name, fn in (("rank_case", lambda c: rank_case(index, c.get("observed", []), c.get("excluded", []), top=10,
                                                        drop_references=[c["pmid"]] if c.get("pmid") else (),
                                                        params=params)),
                     ("score_only", lambda c: score_terms(index, resolve_terms(index, c.get("observed", []),
                                                                               c.get("excluded", []), params),
                                                          params, [c["pmid"]] if c.get("pmid") else ()))):
        w0, c0 = time.perf_counter(), time.process_time()
        for c in cases:
            fn(c)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        out[name] = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "cases_per_s_wall": round(len(cases) / wall, 1),
                     "cases_per_s_cpu": round(len(cases) / cpu, 1) if cpu else None}
    return out


def ratios(ranker: dict[str, Any], base: dict[str, Any]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}

    def walk(prefix: str, r: dict[str, Any], b: dict[str, Any]) -> None:
        for k, v in r.items():
            if isinstance(v, dict) and isinstance(b.get(k), dict):
                walk(f"{prefix}{k}.", v, b[k])
            elif k in ("top1", "top10") and b.get(k) is not None:
                out[f"{prefix}{k}"] = round(v / b[k], 2) if b[k] else None

    walk("", ranker, base)
    return out


def synthea(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        from diagnose_synthea import synthea_section  # type: ignore[import-not-found]
    except ModuleNotFoundError as exc:
        if exc.name != "diagnose_synthea":
            raise
        print("synthea: section not available (bench/diagnose_synthea.py is missing)", file=sys.stderr)
        return {"available": False, "reason": "bench/diagnose_synthea.py is missing"}
    # the cohort's own settings (its seed is not the simulation's): the module's defaults
    ns = argparse.Namespace(json=args.json)
    if args.synthea_bundles:
        ns.bundles = str(args.synthea_bundles)
    return synthea_section(ns)


def get_index(args: argparse.Namespace) -> tuple[PhenotypeIndex, dict[str, Any]]:
    settings = Settings.from_env()
    t0 = time.perf_counter()
    if args.hpo_files:
        from medkb.sources.hpo_ids import read_hpo_id_map
        from medkb.sources.ontologies import fetch_hpo_files, read_hpoa, read_obo

        files = fetch_hpo_files(settings.data_dir)
        replaced = read_hpo_id_map(files["hp.obo"]).replaced
        index = build_index(inputs_from_files(read_obo(files["hp.obo"]), read_hpoa(files["phenotype.hpoa"]),
                                              replaced), args.default_frequency, args.propagation)
        source = "hpo files"
    else:
        from medkb.kb.client import GraphClient
        from medkb.rules.phenotype_index import obsolete_replacements

        with GraphClient(settings.neo4j) as client:
            index = load_index(client, settings.data_dir / "cache", replaced=obsolete_replacements(settings.data_dir),
                               default_frequency=args.default_frequency, propagation=args.propagation)
        source = f"graph {settings.neo4j.uri} (key {index.key})"
    return index, {"source": source, "seconds": round(time.perf_counter() - t0, 2),
                   "diseases": index.n_diseases, "terms": len(index.term_ids)}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--seed", type=int, default=16, help="simulation seed")
    p.add_argument("--cases", type=int, default=300, help="simulated cases per scenario")
    p.add_argument("--cases-file", type=Path, default=DEV_FILE, help="gzipped JSON lines in the dev-file format")
    p.add_argument("--no-sample", action="store_true", help="skip the README's 300-case sample")
    p.add_argument("--skip", action="append", default=[], choices=("phenopackets", "simulated", "synthea"))
    p.add_argument("--synthea-bundles", type=Path, help="score these FHIR bundles instead of the cached cohort")
    p.add_argument("--hpo-files", action="store_true", help="build the index from hp.obo/phenotype.hpoa")
    p.add_argument("--model", default=DEFAULT_PARAMS.model, choices=("mixture", "lr"),
                   help="mixture (default) or lr, the earlier LIRICAL-like model (its own defaults below)")
    p.add_argument("--nu", type=float, help="mixture: share of noise terms")
    p.add_argument("--rho", type=float, help="mixture: chance a feature is reported as its own term")
    p.add_argument("--step", type=float, help="mixture: weight per step up beyond the parent")
    p.add_argument("--alpha", type=float, help="lr: LR floor")
    p.add_argument("--delta", type=float, help="excluded terms: chance an annotated feature is reported absent")
    p.add_argument("--sibling", type=float, help="lr: weight of a common-ancestor match")
    p.add_argument("--size-prior", type=float)
    p.add_argument("--propagation", default="noisy_or", choices=("noisy_or", "max"))
    p.add_argument("--no-excluded", action="store_true", help="ignore excluded terms")
    p.add_argument("--default-frequency", type=float, default=0.5, help="for annotations without a frequency")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    base_params = LR_PARAMS if args.model == "lr" else DEFAULT_PARAMS

    def pick(name: str) -> Any:
        v = getattr(args, name)
        return getattr(base_params, name) if v is None else v

    params = RankingParams(model=args.model, nu=pick("nu"), alpha=pick("alpha"), delta=pick("delta"),
                           sibling=pick("sibling"), size_prior=pick("size_prior"), use_excluded=not args.no_excluded)
    index, index_info = get_index(args)
    if args.rho is not None or args.step is not None:
        index.rho = index.rho if args.rho is None else args.rho
        index.step = index.step if args.step is None else args.step
        compute_matrices(index)
    baseline = Baseline(index)
    result: dict[str, Any] = {}
    base: dict[str, Any] = {"method": "count of exactly matching annotated terms (diseases_for_phenotypes)"}
    cases = read_cases(args.cases_file) if "phenopackets" not in args.skip else []
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("phenopackets", lambda: phenopacket_section(index, cases, params, baseline,
                                                     not args.no_sample and args.cases_file == DEV_FILE)),
        ("simulated", lambda: simulated_section(index, params, baseline, args.seed, args.cases)),
    ]
    for name, step in steps:
        if name in args.skip:
            continue
        result[name], base[name] = step()
    result["synthea"] = synthea(args) if "synthea" not in args.skip else {"available": False, "reason": "skipped"}
    base["ratio"] = ratios({k: result[k] for k in ("phenopackets", "simulated") if k in result},
                           {k: base[k] for k in ("phenopackets", "simulated") if k in base})
    result["baseline"] = base
    tp_cases = cases or [{"observed": c.observed, "excluded": ()} for c in simulate(index, SCENARIOS[1], 300, 0)]
    result["throughput"] = {"ranking": throughput_section(index, tp_cases, params), "index": index_info}
    result["params"] = {"model": params.model, "nu": params.nu, "rho": index.rho, "step": index.step,
                        "alpha": params.alpha, "delta": params.delta, "sibling": params.sibling, "size_prior": params.size_prior,
                        "propagation": args.propagation, "use_excluded": params.use_excluded,
                        "default_frequency": args.default_frequency, "seed": args.seed, "cases": args.cases,
                        "cases_file": str(args.cases_file)}
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0


def table(result: dict[str, Any]) -> str:
    rows = [f"{'set':44} {'cases':>6} {'top1':>6} {'top3':>6} {'top10':>6} {'median':>7}"]

    def line(name: str, m: dict[str, Any]) -> None:
        if m.get("cases"):
            rows.append(f"{name:44} {m['cases']:>6} {m['top1']:>6.3f} {m['top3']:>6.3f} {m['top10']:>6.3f} "
                        f"{m['median_rank']:>7.1f}")

    for who, src in (("ranker", result), ("baseline", result.get("baseline", {}))):
        pp = src.get("phenopackets", {})
        line(f"{who} phenopackets (all)", pp)
        line(f"{who} phenopackets (all), own-PMID", pp.get("own_pmid_filtered", {}))
        line(f"{who} phenopackets sample300", pp.get("sample300", {}))
        line(f"{who} phenopackets sample300, own-PMID", pp.get("sample300", {}).get("own_pmid_filtered", {}))
        for sc, m in src.get("simulated", {}).items():
            line(f"{who} simulated {sc}", m)
    tp = result["throughput"]["ranking"]
    for name in ("rank_case", "score_only"):
        rows.append(f"throughput {name}: {tp[name]['cases_per_s_cpu']} cases/s per CPU second, "
                    f"{tp[name]['cases_per_s_wall']} wall, over {tp['diseases']} diseases")
    rows.append(f"index: {result['throughput']['index']}")
    rows.append(f"synthea: {json.dumps(result['synthea'])}")
    rows.append(f"ratios to baseline: {json.dumps(result['baseline'].get('ratio', {}))}")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
