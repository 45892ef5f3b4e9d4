"""The prepared GPU run for the NER model: one full fine-tuning of a recipe (bf16 autocast on CUDA),
then inference throughput of the result in bf16, the tagger alone and the whole pipeline, with
the GPU's name. Writes bench/results/ner-gpu-<date>.json.

Made for a device machine, where `../shared` does not travel: copy the corpora into a git-ignored
folder of the repo, carry it, and pass it as --corpora. On a CPU it runs too (slowly); a smoke run:

    python bench/ner_gpu.py --epochs 1 --limit-docs 20 --out /tmp/gpu-smoke
    python bench/ner_gpu.py --corpora .gpu/corpora [--config models/ner.yaml]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(ROOT / "models" / "ner.yaml"))
    ap.add_argument("--corpora", help="folder holding bc5cdr/ and ncbi-disease/ (default: the config's paths)")
    ap.add_argument("--epochs", type=int, help="override the config's epochs")
    ap.add_argument("--limit-docs", type=int, default=0, help="first N training and dev docs (smoke runs)")
    ap.add_argument("--threads", type=int, default=8, help="CPU threads for torch")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = ap.parse_args()

    import torch

    from medkb.nlp.ner import TransformerTagger
    from medkb.nlp.serving import model_extractor
    from medkb.training.assess import assess
    from medkb.training.config import NerConfig
    from medkb.training.data import load_corpus
    from medkb.training.finetune import train_ner
    from medkb.training.lexicon import build_lexicon

    cfg = NerConfig.load(args.config)
    if args.corpora:
        moved = lambda ps: tuple(str(Path(args.corpora) / Path(p).parent.name / Path(p).name) for p in ps)  # noqa: E731
        cfg = replace(cfg, train=moved(cfg.train), dev=moved(cfg.dev), silver="")
    if args.epochs:
        cfg = replace(cfg, epochs=args.epochs)
    if args.limit_docs:
        cfg = replace(cfg, limit_docs=args.limit_docs, limit_dev_docs=args.limit_docs)
    cuda = torch.cuda.is_available()
    report: dict = {"device": torch.cuda.get_device_name(0) if cuda else "cpu", "torch": torch.__version__,
                    "config": args.config, "epochs": cfg.epochs, "limit_docs": args.limit_docs}
    print(f"device: {report['device']}", flush=True)
    out = Path(args.out)
    model_dir = out / f"ner-gpu-model-{date.today():%Y%m%d}"
    result = train_ner(cfg, model_dir, threads=args.threads)
    build_lexicon(model_dir, [cfg.resolve(p) for p in cfg.train])
    report["training"] = {"seconds": round(result.seconds, 1), "best_epoch": result.best_epoch,
                          "seconds_per_epoch": round(result.seconds / max(1, len(result.history)), 1),
                          "dev_micro_f1_by_epoch": [h["dev_f1"] for h in result.history]}
    dev = load_corpus(cfg.resolve(cfg.dev[0]))[: args.limit_docs or None]
    tagger = TransformerTagger(model_dir, precision="bf16")
    texts = [e.text for e in dev]
    tagger.predict(texts[:32])  # warm-up: kernels, allocator
    if cuda:
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    tagger.predict(texts)
    if cuda:
        torch.cuda.synchronize()
    report["tagger_bf16_abstracts_per_s"] = round(len(texts) / (time.perf_counter() - t0), 1)
    scores = assess(model_extractor(str(model_dir), tagger), dev)
    report["pipeline_bf16"] = {"abstracts_per_s": scores["docs_per_s"], "micro_f1": scores["micro"]["f1"],
                               "Chemical_f1": scores["Chemical"]["f1"], "Disease_f1": scores["Disease"]["f1"],
                               "normalisation_f1": scores["normalisation"]["f1"]}
    if cuda:
        report["peak_gpu_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)
    print(json.dumps(report, indent=1))
    path = out / f"ner-gpu-{date.today():%Y%m%d}.json"
    path.write_text(json.dumps(report, indent=1))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
