"""`medkb train ...`: fine-tune the NER model, domain pre-training, the silver refinement set."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import yaml

from medkb.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train models: NER fine-tuning, MLM pre-training, silver refinement set")
    p.set_defaults(group_parser=p)
    s = p.add_subparsers(dest="train_command", metavar="SUBCOMMAND")
    n = s.add_parser("ner", help="fine-tune the Chemical/Disease tagger and register it as a challenger",
                     description="Fine-tune per a YAML config (models/ner.yaml), evaluate on dev each epoch with early "
                     "stopping, save the best epoch, then register it (and with --promote run the champion gate).")
    n.add_argument("--config", default="models/ner.yaml", help="training config (default: models/ner.yaml)")
    n.add_argument("--output", help="model directory (default: a new version in the registry directory)")
    n.add_argument("--no-register", action="store_true", help="train only; do not add it to the registry")
    n.add_argument("--promote", action="store_true", help="after registering, run the champion/challenger gate")
    n.add_argument("--threads", type=int, default=2, help="CPU threads for torch (default 2)")
    n.add_argument("--epochs", type=int, help="override the config's epochs")
    n.set_defaults(func=_ner)
    pt = s.add_parser("pretrain", help="domain-adaptive MLM pre-training on MEDLINE abstracts")
    pt.add_argument("--config", default="models/pretrain.yaml", help="config (default: models/pretrain.yaml)")
    pt.add_argument("--output", required=True, help="directory for the adapted encoder")
    pt.add_argument("--max-steps", type=int, help="override max_steps")
    pt.add_argument("--threads", type=int, default=2)
    pt.set_defaults(func=_pretrain)
    sv = s.add_parser("silver", help="build the refinement set: champion's confident labels on validated/extracted abstracts")
    sv.add_argument("--output", required=True, help="PubTator file to write")
    sv.add_argument("--limit", type=int, default=4000, help="candidate abstracts to label (default 4000: about 3,000 sentences)")
    sv.add_argument("--ratio", type=float, default=0.5, help="cap silver text at RATIO x the gold training text (characters)")
    sv.add_argument("--min-score", type=float, default=0.9, help="every span of a silver sentence must reach this (default 0.9)")
    sv.set_defaults(func=_silver)


def _ner(args: argparse.Namespace) -> int:
    from medkb import registry
    from medkb.db.postgres import connect
    from medkb.training.config import NerConfig
    from medkb.training.finetune import train_ner
    from medkb.training.lexicon import build_lexicon

    cfg = NerConfig.load(args.config)
    if args.epochs:
        cfg = replace(cfg, epochs=args.epochs)
    settings = Settings.from_env() if not args.no_register or not args.output else None
    if args.output:
        out = Path(args.output)
    else:
        with connect(settings) as conn:
            out = registry.reserve_version(conn, settings)
    result = train_ner(cfg, out, threads=args.threads)
    build_lexicon(out, [cfg.resolve(p) for p in cfg.train])
    print(json.dumps({"output": str(out), "best_epoch": result.best_epoch, "seconds": round(result.seconds, 1),
                      "dev_micro_f1": {k: v["micro"]["f1"] for k, v in result.dev.items()}}))
    if args.no_register:
        return 0
    with connect(settings) as conn:
        rec = registry.register(conn, out, settings)
        print(f"registered {rec.version} as {rec.status}")
        if args.promote:
            d = registry.promote(conn, rec.version)
            print(("promoted " if d.promote else "not promoted ") + rec.version + ": " + "; ".join(d.reasons))
    return 0


def _pretrain(args: argparse.Namespace) -> int:
    from medkb.training.pretrain import PretrainConfig, pretrain

    raw = yaml.safe_load(Path(args.config).read_text()) or {}
    cfg = PretrainConfig(**{**raw, "files": tuple(raw.get("files", ()))})
    if args.max_steps:
        cfg = replace(cfg, max_steps=args.max_steps)
    print(json.dumps(pretrain(cfg, args.output, threads=args.threads)))
    return 0


def _silver(args: argparse.Namespace) -> int:
    from medkb.pipelines.model_refine import build_refinement_set

    result = build_refinement_set(Settings.from_env(), "manual", limit=args.limit, ratio=args.ratio,
                                  min_score=args.min_score, output=Path(args.output))
    print(json.dumps(result))
    return 0
