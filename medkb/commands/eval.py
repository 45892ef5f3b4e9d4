"""`medkb eval ner`: strict span scores, confusion, normalisation (and CID) F1 on a PubTator file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tqdm import tqdm

from medkb.settings import Settings
from medkb.vocabulary import NER_TYPES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate models on gold corpora")
    p.set_defaults(group_parser=p)
    s = p.add_subparsers(dest="eval_command", metavar="SUBCOMMAND")
    n = s.add_parser("ner", help="strict entity P/R/F1 per type and micro, confusion, normalisation F1",
                     description="Evaluate the extraction pipeline (NER + abbreviations + normalisation + relations) "
                     "on a PubTator file. F1 values are percentages.")
    n.add_argument("model", nargs="?", help="registry version or model directory (default: the champion); "
                   "'dictionary' = the dictionary extractor")
    n.add_argument("--corpus", required=True, help="PubTator file, e.g. ../shared/corpora/bc5cdr/CDR_DevelopmentSet.PubTator.txt")
    n.add_argument("--json", action="store_true", help="print the metrics as one JSON object on stdout")
    n.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "int8", "auto"),
                   help="inference precision (deployment options: bf16, int8; auto = bf16 where the CPU has it)")
    n.add_argument("--guideline", help="annotation guideline to tag by, for a model trained with several "
                   "(e.g. ncbi for NCBI Disease files; default: the model's default, cdr for the shipped recipe)")
    n.add_argument("--limit", type=int, help="first N documents only (smoke runs; not for reported figures)")
    n.set_defaults(func=_ner)


def _ner(args: argparse.Namespace) -> int:
    from medkb.nlp.extract import Extractor
    from medkb.nlp.ner import TransformerTagger
    from medkb.nlp.serving import dictionary_tagger, model_extractor, normaliser
    from medkb.training.assess import assess
    from medkb.training.data import load_corpus

    corpus = Path(args.corpus)
    if not corpus.exists():
        raise FileNotFoundError(f"corpus {corpus} not found; the gold files are in ../shared/corpora")
    examples = load_corpus(corpus)[: args.limit or None]
    if args.model == "dictionary":
        extractor = Extractor(dictionary_tagger(), normaliser(None))
    else:
        path = _model_path(args.model)
        tagger = TransformerTagger(path, precision=args.precision, guideline=args.guideline)
        extractor = model_extractor(str(path), tagger)
    # phenotype (HPO) links are not scored: the corpora have no HPO gold
    with tqdm(desc=f"eval {corpus.name}", unit="window", disable=args.json, mininterval=2) as bar:
        scores = assess(extractor, examples, progress=bar)
    scores["corpus"] = corpus.name
    scores["guideline"] = getattr(extractor.tagger, "guideline", None)
    if args.json:
        print(json.dumps(scores))
        return 0
    print(f"{scores['model']} on {corpus.name} ({scores['docs']} docs, {scores['docs_per_s']} docs/s)")
    for t in (*NER_TYPES, "micro"):
        s = scores[t]
        print(f"  {t:<9} P {s['p']:6.2f}  R {s['r']:6.2f}  F1 {s['f1']:6.2f}  (gold {s['gold']}, predicted {s['pred']})")
    nm = scores["normalisation"]
    print(f"  normalisation (doc-level ids)  P {nm['p']:6.2f}  R {nm['r']:6.2f}  F1 {nm['f1']:6.2f}")
    if "relations" in scores:
        r = scores["relations"]
        print(f"  CID relations (doc-level)      P {r['p']:6.2f}  R {r['r']:6.2f}  F1 {r['f1']:6.2f}")
    print("  errors: " + ", ".join(f"{k} {v}" for k, v in scores["confusion"].items()))
    return 0


def _model_path(model: str | None) -> Path:
    from medkb import registry
    from medkb.db.postgres import connect

    if model and Path(model).is_dir():
        return Path(model)
    with connect(Settings.from_env()) as conn:
        rec = registry.get(conn, model) if model else registry.champion(conn)
    if rec is None:
        raise registry.RegistryError("no champion to evaluate; name a version or directory, or `medkb train ner` first")
    return Path(rec.path)
