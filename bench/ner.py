"""NER benchmark: the champion (fp32, bf16, int8) against the dictionary baseline, in one process.

Prints per-type strict P/R/F1 on the dev sets, BioCreative V normalisation F1 and CID F1 on
BC5CDR dev, abstracts/s of the whole extraction pipeline and of the tagger alone, peak memory,
and each figure's ratio to the dictionary baseline. A corpus is scored on the types it annotates
(NCBI Disease: Disease only). Each model run is also scored without the precise-name dictionary. Writes bench/results/ner-<version>.json/.md.

    python bench/ner.py [--model VERSION_OR_DIR] [--threads 2] [--skip-int8]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class CachedTagger:
    """Remembers predictions so an ablation of the pipeline re-uses the tagger's work."""

    def __init__(self, tagger) -> None:
        self.tagger, self.version, self.cache = tagger, tagger.version, {}

    def predict(self, texts, sentences=None, progress=None):
        key = tuple(texts)
        if key not in self.cache:
            self.cache[key] = self.tagger.predict(texts, sentences, progress=progress)
        return self.cache[key]


def tagger_speed(tagger, examples) -> float:
    """Abstracts/s of NER alone (sentences precomputed)."""
    from medkb.nlp.sentences import split_sentences

    texts = [e.text for e in examples]
    sents = [split_sentences(t) for t in texts]
    t0 = time.perf_counter()
    tagger.predict(texts, sents)
    return round(len(texts) / (time.perf_counter() - t0), 2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="registry version or model directory (default: the champion)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-int8", action="store_true")
    ap.add_argument("--speed-docs", type=int, default=100, help="abstracts for the tagger-only speed figure")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from medkb.commands.eval import _model_path
    from medkb.nlp.extract import Extractor
    from medkb.nlp.ner import TransformerTagger
    from medkb.nlp.serving import dictionary_tagger, model_extractor, normaliser
    from medkb.training.assess import assess
    from medkb.training.data import load_corpus
    from medkb.training.lexicon import DEV_FILES

    path = _model_path(args.model)
    devs = {p.name: load_corpus(p) for p in DEV_FILES}
    report: dict = {"model": str(path), "threads": args.threads, "device": "cpu", "runs": {}}
    configs = [("dictionary", None), ("fp32", "fp32"), ("bf16", "bf16")] + ([] if args.skip_int8 else [("int8", "int8")])
    for name, quant in configs:
        t_load = time.perf_counter()
        tagger = dictionary_tagger(str(path)) if quant is None else TransformerTagger(path, precision=quant)
        cached = CachedTagger(tagger)
        plain = Extractor(cached, normaliser(str(path)))  # tagger, abbreviations and normaliser only
        extractor = plain if quant is None else model_extractor(str(path), cached)
        run = {"load_s": round(time.perf_counter() - t_load, 1)}
        for dev, examples in devs.items():
            run[dev] = assess(extractor, examples)
        if quant is not None:
            # a model trained with per-corpus annotation guidelines is also scored, on a dev file
            # whose own guideline is not the default, with that guideline (the default stays the
            # headline figure: it is what the nightly runs)
            by_file = json.loads((path / "medkb.json").read_text()).get("config", {}).get("guidelines") or {}
            for dev, examples in devs.items():
                own = by_file.get(dev)
                if own and own != tagger.guideline:
                    other = TransformerTagger(path, precision=quant, guideline=own)
                    run[f"{dev} [guideline {own}]"] = assess(model_extractor(str(path), other), examples)
            run["default_guideline"] = tagger.guideline
        ablation = Extractor(cached, normaliser(str(path)), consistent=True)
        run["micro_f1_with_repeat_propagation"] = {dev: assess(ablation, ex)["micro"]["f1"] for dev, ex in devs.items()}
        if quant is not None:
            # the same tagger output without the precise-name dictionary (training/lexicon.py)
            run["without_precise_names"] = {dev: {t: s[t]["f1"] for t in ("Chemical", "Disease", "micro")}
                                            for dev, ex in devs.items() for s in [assess(plain, ex)]}
        run["tagger_abstracts_per_s"] = tagger_speed(tagger, devs[DEV_FILES[0].name][: args.speed_docs])
        run["peak_rss_mb_so_far"] = peak_mb()
        report["runs"][name] = run
        print_run(name, run)
    base = report["runs"]["dictionary"]
    bc5 = DEV_FILES[0].name
    print("\nratios vs dictionary baseline (BC5CDR dev):")
    for name, run in report["runs"].items():
        if name == "dictionary":
            continue
        r = {k: round(run[bc5][k]["f1"] / base[bc5][k]["f1"], 3) for k in ("micro", "Chemical", "Disease", "normalisation")}
        r["pipeline_speed"] = round(run[bc5]["docs_per_s"] / base[bc5]["docs_per_s"], 3)
        report.setdefault("ratios_vs_dictionary", {})[name] = r
        print(f"  {name}: {r}")
    for option in ("bf16", "int8"):
        if option in report["runs"]:
            f, q = report["runs"]["fp32"], report["runs"][option]
            report[f"{option}_cost"] = {
                "micro_f1_lost": round(f[bc5]["micro"]["f1"] - q[bc5]["micro"]["f1"], 2),
                "tagger_speedup": round(q["tagger_abstracts_per_s"] / f["tagger_abstracts_per_s"], 3),
                "pipeline_speedup": round(q[bc5]["docs_per_s"] / f[bc5]["docs_per_s"], 3),
            }
            print(f"{option} vs fp32: {report[option + '_cost']}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"ner-{path.name}"
    (out / f"{stem}.json").write_text(json.dumps(report, indent=1))
    (out / f"{stem}.md").write_text(markdown(report))
    print(f"wrote {out / stem}.json and .md")
    return 0


def print_run(name: str, run: dict) -> None:
    print(f"\n== {name} (load {run['load_s']} s, tagger {run['tagger_abstracts_per_s']} abstracts/s, "
          f"peak RSS so far {run['peak_rss_mb_so_far']} MB)")
    print(f"  micro F1 with repeat propagation (off by default): {run['micro_f1_with_repeat_propagation']}")
    if "without_precise_names" in run:
        print(f"  F1 without the precise-name dictionary: {run['without_precise_names']}")
    for dev, s in run.items():
        if not isinstance(s, dict) or "micro" not in s:
            continue
        line = "  ".join(f"{t} P {s[t]['p']:.2f} R {s[t]['r']:.2f} F1 {s[t]['f1']:.2f}" for t in ("Chemical", "Disease", "micro"))
        print(f"  {dev}: {line}")
        extra = f"normalisation F1 {s['normalisation']['f1']:.2f}"
        if "relations" in s:
            extra += f", CID F1 {s['relations']['f1']:.2f}"
        print(f"    {extra}; pipeline {s['docs_per_s']} abstracts/s; errors {s['confusion']}")


def markdown(report: dict) -> str:
    lines = [f"# NER benchmark: {Path(report['model']).name}", "",
             f"CPU, {report['threads']} torch threads, shared 2-core machine (figures vary with load).", "",
             "| run | dev set | Chemical F1 | Disease F1 | micro P | micro R | micro F1 | norm. F1 | CID F1 | pipeline abstracts/s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, run in report["runs"].items():
        for dev, s in run.items():
            if isinstance(s, dict) and "micro" in s:
                rel = s.get("relations", {}).get("f1", "")
                lines.append(f"| {name} | {dev} | {s['Chemical']['f1']} | {s['Disease']['f1']} | {s['micro']['p']} | "
                             f"{s['micro']['r']} | {s['micro']['f1']} | {s['normalisation']['f1']} | {rel} | {s['docs_per_s']} |")
    for name, run in report["runs"].items():
        if "without_precise_names" in run:
            lines += ["", f"{name} without the precise-name dictionary: {run['without_precise_names']}"]
    lines += ["", "| run | tagger abstracts/s (BC5CDR dev) | peak RSS so far (MB) |", "|---|---|---|"]
    for name, run in report["runs"].items():
        lines.append(f"| {name} | {run['tagger_abstracts_per_s']} | {run['peak_rss_mb_so_far']} |")
    for option in ("bf16", "int8"):
        if f"{option}_cost" in report:
            lines += ["", f"{option} vs fp32: {report[option + '_cost']}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
