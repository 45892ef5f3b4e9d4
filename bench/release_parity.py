"""A shipped release against the registry model it was cut from, side by side, in one process.

A release carries the weights cast to bf16, so the question is what that costs: both directories
run through the same extraction pipeline (tagger, abbreviations, precise names, normaliser) on the
dev files, in fp32 and in bf16 (the deployment precision), and the F1 differences are printed.

    python bench/release_parity.py --original .local/models/VERSION --release models/releases/VERSION
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
KEYS = ("micro", "Chemical", "Disease", "normalisation")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--original", required=True, help="the registry's model directory (fp32 weights)")
    ap.add_argument("--release", required=True, help="the release directory (bf16 weights, MANIFEST.json)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precisions", default="fp32,bf16")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from medkb.nlp.ner import TransformerTagger
    from medkb.nlp.serving import model_extractor
    from medkb.registry.release import verify
    from medkb.training.assess import assess
    from medkb.training.data import load_corpus
    from medkb.training.lexicon import DEV_FILES

    verify(args.release)
    devs = {p.name: load_corpus(p) for p in DEV_FILES}
    report: dict = {"original": args.original, "release": args.release, "runs": {}}
    for precision in args.precisions.split(","):
        for name, path in (("original", args.original), ("release", args.release)):
            t0 = time.perf_counter()
            tagger = TransformerTagger(path, precision=precision)
            extractor = model_extractor(str(path), tagger)
            scores = {dev: assess(extractor, ex) for dev, ex in devs.items()}
            report["runs"][f"{name}/{precision}"] = {
                dev: {k: s[k]["f1"] for k in KEYS if k in s} for dev, s in scores.items()
            } | {"seconds": round(time.perf_counter() - t0, 1)}
    worst = 0.0
    for precision in args.precisions.split(","):
        o, r = report["runs"][f"original/{precision}"], report["runs"][f"release/{precision}"]
        for dev in devs:
            for k in o[dev]:
                worst = max(worst, abs(o[dev][k] - r[dev][k]))
    report["max_abs_f1_difference"] = round(worst, 3)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{'dev file':<34} {'score':<14} " + " ".join(f"{n:>16}" for n in report["runs"]))
    for dev in devs:
        for k in KEYS:
            cells = [report["runs"][n][dev].get(k) for n in report["runs"]]
            if cells[0] is None:
                continue
            print(f"{dev:<34} {k:<14} " + " ".join(f"{c:>16.2f}" for c in cells))
    print(f"largest |original - release| F1 difference: {report['max_abs_f1_difference']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
