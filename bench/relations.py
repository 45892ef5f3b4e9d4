"""Relation-stage benchmark: candidate pairs/s and abstracts/s of the CID classifier, fp32, bf16 and int8,
beside the NER stage and the whole pipeline on the same abstracts, with peak memory, and what each
precision costs in gold-entity CID F1 on the same abstracts.

One pipeline run per precision (spaCy, NER, normalisation, relations): the NER tagger and the
relation step are timed inside it (wrappers), so every figure comes from the same abstracts. The
relation stage includes building the candidates and the evidence.

    python bench/relations.py [--model RE_VERSION_OR_DIR] [--ner NER_VERSION_OR_DIR|dictionary] [--docs 200] [--threads 2]
                              [--precisions fp32,bf16,int8]
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

DEV = ROOT.parent / "shared" / "corpora" / "bc5cdr" / "CDR_DevelopmentSet.PubTator.txt"


def peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class Timed:
    """Wraps the tagger or the relation step and adds up the seconds spent in it."""

    def __init__(self, inner, method: str) -> None:
        self.inner, self.method, self.seconds, self.pairs = inner, method, 0.0, 0
        self.version = inner.version

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def predict(self, *a, **kw):
        t0 = time.perf_counter()
        try:
            return self.inner.predict(*a, **kw)
        finally:
            self.seconds += time.perf_counter() - t0

    def assertions(self, doc_id, text, sentences, spans, title_end, model):
        from medkb.nlp.relation_candidates import doc_candidates

        t0 = time.perf_counter()
        try:
            self.pairs += len(doc_candidates(doc_id, text, sentences, spans, title_end).candidates)
            return self.inner.assertions(doc_id, text, sentences, spans, title_end, model)
        finally:
            self.seconds += time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="relation model version or directory (default: the re champion)")
    ap.add_argument("--ner", help="NER version or directory (default: the ner champion); 'dictionary'")
    ap.add_argument("--docs", type=int, default=200, help="BC5CDR dev abstracts")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precisions", default="fp32,bf16,int8", help="comma-separated; the first is the baseline")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from medkb.commands.relations import _extractor, _resolve
    from medkb.nlp.extract import SourceDoc
    from medkb.nlp.relation_candidates import mesh_tree
    from medkb.nlp.relation_classifier import RelationClassifier
    from medkb.nlp.relation_stage import ModelRelations
    from medkb.settings import data_dir_from_env
    from medkb.training.relation_data import load_cid
    from medkb.training.relation_eval import score_gold_run

    docs = load_cid(DEV, args.docs)
    src = [SourceDoc(d.cand.doc_id, d.title, d.abstract, "corpus") for d in docs]
    path, version = _resolve(args.model, "re")
    tree = mesh_tree(str(data_dir_from_env()))
    rows = []
    for precision in args.precisions.split(","):
        extractor = _extractor(args.ner, precision)
        clf = RelationClassifier(path, precision=precision)
        clf.version = version
        extractor.extract(src[:8])  # warm-up: vocabularies, spaCy, first calls
        tagger = Timed(extractor.tagger, "predict")
        rel = Timed(ModelRelations(clf, tree), "assertions")
        extractor.tagger, extractor.relations = tagger, rel
        t0 = time.perf_counter()
        results = extractor.extract(src)
        total = time.perf_counter() - t0
        n = len(src)
        row = {"precision": precision, "abstracts": n, "candidate_pairs": rel.pairs,
               "pipeline_abstracts_per_s": round(n / total, 2),
               "ner_stage_s": round(tagger.seconds, 2), "ner_abstracts_per_s": round(n / tagger.seconds, 2),
               "relation_stage_s": round(rel.seconds, 2), "relation_abstracts_per_s": round(n / rel.seconds, 2),
               "relation_pairs_per_s": round(rel.pairs / rel.seconds, 1),
               "relation_vs_ner_time": round(rel.seconds / tagger.seconds, 3),
               "assertions": sum(len(r.assertions) for r in results), "peak_rss_mb": peak_mb()}
        row["gold_entities_f1"] = score_gold_run(clf, docs, tree, threshold=clf.threshold)["f1"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# Relation-stage benchmark: {version} (NER {args.ner or 'champion'})", "",
             f"BC5CDR dev, first {args.docs} abstracts; CPU, {args.threads} torch threads, shared 2-core machine "
             "(figures vary with load).", "",
             "| precision | candidate pairs | pairs/s | relation abstracts/s | NER abstracts/s | relation/NER time | "
             "pipeline abstracts/s | pipeline vs first | gold-entity F1 | peak RSS MB |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['precision']} | {r['candidate_pairs']} | {r['relation_pairs_per_s']} | {r['relation_abstracts_per_s']} | "
              f"{r['ner_abstracts_per_s']} | {r['relation_vs_ner_time']} | {r['pipeline_abstracts_per_s']} | "
              f"{r['pipeline_abstracts_per_s'] / rows[0]['pipeline_abstracts_per_s']:.2f}x | {r['gold_entities_f1']} | {r['peak_rss_mb']} |"
              for r in rows]
    (out / f"relations-{version}.md").write_text("\n".join(lines) + "\n")
    (out / f"relations-{version}.json").write_text(json.dumps(rows, indent=1))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
