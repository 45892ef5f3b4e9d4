"""`medkb train re`, `medkb eval relations` and `medkb relations predict`: the CID relation classifier.

The first two hang under the existing `train` and `eval` groups (this module is registered after
them in cli.py), so the relation commands live in one file beside the model they serve.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from medkb.settings import Settings

TABLE = (("end_to_end", "end to end (MedKB NER, ids, relation model)"),
         ("end_to_end_at_least_one", "end to end, at least one pair per document (BioCreative prior)"),
         ("gold_entities", "gold entities, relation model"),
         ("gold_entities_at_least_one", "gold entities, at least one pair per document (BioCreative prior)"),
         ("cooccurrence_doc", "baseline: every pair co-occurring in the document (gold entities)"),
         ("cooccurrence_sentence", "baseline: every pair co-occurring in a sentence (gold entities)"),
         ("cue_words", "baseline: cue-word scorer (gold entities)"),
         ("cue_words_end_to_end", "baseline: cue-word scorer (end to end)"))


def _group(sub: argparse._SubParsersAction, name: str) -> argparse._SubParsersAction:
    parser = sub.choices[name]
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def register(sub: argparse._SubParsersAction) -> None:
    t = _group(sub, "train").add_parser(
        "re", help="train the CID relation classifier and register it as a challenger (kind re)",
        description="Train per a YAML config (models/re.yaml) on BC5CDR train's CID relations, select the epoch "
        "and threshold on dev, save the best epoch, then register it as kind `re` (and with --promote gate it).")
    t.add_argument("--config", default="models/re.yaml")
    t.add_argument("--output", help="model directory (default: a new re-<date>-<n> version in the registry directory)")
    t.add_argument("--no-register", action="store_true")
    t.add_argument("--promote", action="store_true", help="after registering, run the gate (models/promotion.yaml, re:)")
    t.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1: the machine is shared)")
    t.set_defaults(func=_train)
    e = _group(sub, "eval").add_parser(
        "relations", help="CID relation P/R/F1 of (PMID, chemical, disease) triples, end to end, gold entities, baselines",
        description="Evaluate the relation model on a PubTator file with CID relations. F1 values are percentages.")
    e.add_argument("--model", help="relation model version or directory (default: the re champion)")
    e.add_argument("--ner", help="NER version or directory for the end-to-end run (default: the ner champion; "
                   "'dictionary' = the dictionary extractor)")
    e.add_argument("--corpus", required=True, help="PubTator file, e.g. ../shared/corpora/bc5cdr/CDR_DevelopmentSet.PubTator.txt")
    e.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    e.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "int8", "auto"),
                   help="inference precision of both models (default fp32; int8 costs the relation model 2-3 F1, "
                   "bench/relations.py); also printed: the at-least-one-pair-per-document rows, BioCreative V's "
                   "corpus prior, which the nightly does not use")
    e.add_argument("--no-end-to-end", action="store_true", help="skip the end-to-end run (no NER needed)")
    e.add_argument("--limit", type=int, help="first N documents only (smoke runs; not for reported figures)")
    e.set_defaults(func=_eval)
    g = sub.add_parser("relations", help="CID relations: predict INDUCES pairs with their evidence (training: `train re`, "
                       "scores: `eval relations`)")
    g.set_defaults(group_parser=g)
    p = g.add_subparsers(dest="relations_command", metavar="SUBCOMMAND").add_parser(
        "predict", help="extract (NER, ids, relation model) from a PubTator or title/abstract file and print each "
        "INDUCES pair with its score and evidence, one JSON object a line")
    p.add_argument("--corpus", required=True, help="PubTator file (its annotations are ignored)")
    p.add_argument("--model", help="relation model version or directory (default: the re champion)")
    p.add_argument("--ner", help="NER version or directory (default: the ner champion); 'dictionary'")
    p.add_argument("--precision", default="auto", choices=("fp32", "bf16", "int8", "auto"),
                   help="inference precision (auto = bf16 where the CPU has it natively, else fp32)")
    p.add_argument("--limit", type=int, help="first N documents only")
    p.set_defaults(func=_predict)


def _train(args: argparse.Namespace) -> int:
    from medkb import registry
    from medkb.db.postgres import connect
    from medkb.training.relation_train import RelationConfig, train_re

    cfg = RelationConfig.load(args.config)
    settings = Settings.from_env() if not (args.no_register and args.output) else None
    if args.output:
        out = Path(args.output)
    else:
        with connect(settings) as conn:
            out = registry.reserve_version(conn, settings, kind="re")
    result = train_re(cfg, out, threads=args.threads)
    print(json.dumps({"output": str(out), "best_epoch": result.best_epoch, "seconds": round(result.seconds, 1),
                      "dev_f1": {k: v["f1"] for k, v in result.dev.items()}}))
    if args.no_register:
        return 0
    with connect(settings) as conn:
        rec = registry.register(conn, out, settings, kind="re")
        print(f"registered {rec.version} as {rec.status}")
        if args.promote:
            d = registry.promote(conn, rec.version)
            print(("promoted " if d.promote else "not promoted ") + rec.version + ": " + "; ".join(d.reasons))
    return 0


def _resolve(version: str | None, kind: str) -> tuple[str, str]:
    """(model directory, version) of a registry version, a directory, or the kind's champion."""
    from medkb import registry
    from medkb.db.postgres import connect

    if version and Path(version).is_dir():
        return version, Path(version).name
    with connect(Settings.from_env()) as conn:
        rec = registry.get(conn, version) if version else registry.champion(conn, kind)
    if rec is None:
        raise registry.RegistryError(f"no {kind} champion; name a version or directory (`medkb model list --kind {kind}`)")
    return rec.path, rec.version


def _eval(args: argparse.Namespace) -> int:
    from medkb.nlp.relation_candidates import mesh_tree
    from medkb.nlp.relation_classifier import RelationClassifier
    from medkb.nlp.relation_stage import ModelRelations
    from medkb.settings import data_dir_from_env
    from medkb.training.relation_data import load_cid
    from medkb.training.relation_eval import baselines, end_to_end, score_gold_run

    corpus = Path(args.corpus)
    if not corpus.exists():
        raise FileNotFoundError(f"corpus {corpus} not found; the gold files are in ../shared/corpora")
    docs = load_cid(corpus, args.limit or 0)
    path, version = _resolve(args.model, "re")
    clf = RelationClassifier(path, precision=args.precision)
    clf.version = version
    tree = mesh_tree(str(data_dir_from_env()))
    gold = score_gold_run(clf, docs, tree, threshold=clf.threshold)
    out: dict = {"corpus": corpus.name, "docs": len(docs), "model": version, "threshold": clf.threshold,
                 "hypernym_filter": clf.hypernym_filter and tree is not None}
    if not args.no_end_to_end:
        extractor = _extractor(args.ner, args.precision)
        extractor.relations = ModelRelations(clf, tree)
        extractor.version = f"{extractor.tagger.version}+{version}"
        out.update(end_to_end(extractor, docs))
    out["gold_entities"] = {k: gold[k] for k in ("p", "r", "f1", "tp", "pred", "gold")}
    out["gold_entities"].update({"intra": gold["intra"], "cross": gold["cross"]})
    out["gold_entities_at_least_one"] = gold["at_least_one"]
    out.update(baselines(docs))
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"CID relations: {version} on {corpus.name} ({len(docs)} docs, threshold {clf.threshold}, "
          f"hypernym filter {'on' if out['hypernym_filter'] else 'off'})")
    for key, label in TABLE:
        if key in out:
            s = out[key]
            print(f"  {label:<66} P {s['p']:6.2f}  R {s['r']:6.2f}  F1 {s['f1']:6.2f}")
    for part in ("intra", "cross"):
        s = gold[part]
        print(f"    gold entities, {part}-sentence pairs{'':<36} P {s['p']:6.2f}  R {s['r']:6.2f}  F1 {s['f1']:6.2f}  (gold {s['gold']})")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from medkb.nlp.extract import SourceDoc
    from medkb.nlp.relation_stage import model_relations
    from medkb.settings import data_dir_from_env
    from medkb.training.relation_data import load_cid

    docs = load_cid(args.corpus, args.limit or 0)
    path, version = _resolve(args.model, "re")
    extractor = _extractor(args.ner, args.precision)
    extractor.relations = model_relations(path, str(data_dir_from_env()), precision=args.precision, version=version)
    extractor.version = f"{extractor.tagger.version}+{version}"
    for r in extractor.extract([SourceDoc(d.cand.doc_id, d.title, d.abstract, "corpus") for d in docs]):
        for a in r.assertions:
            print(json.dumps({"doc": a.doc_id, "chemical": a.subject_id, "disease": a.object_id, "score": a.score,
                              "evidence": a.sentence, "start": a.start, "end": a.end, "model": a.model}))
    return 0


def _extractor(ner: str | None, precision: str):  # noqa: ANN202  (an Extractor; imported lazily)
    from medkb.nlp.extract import Extractor
    from medkb.nlp.ner import TransformerTagger
    from medkb.nlp.serving import dictionary_tagger, model_extractor, normaliser

    if ner == "dictionary":
        return Extractor(dictionary_tagger(), normaliser(None))
    path, version = _resolve(ner, "ner")
    tagger = TransformerTagger(path, precision=precision)
    tagger.version = version
    return model_extractor(str(path), tagger)
