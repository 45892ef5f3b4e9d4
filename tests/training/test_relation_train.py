"""CID training on a tiny encoder built from a config (no download) and a three-document corpus."""

from __future__ import annotations

import json

import pytest

from medkb.nlp.relation_classifier import RelationClassifier
from medkb.training.relation_data import load_cid
from medkb.training.relation_train import RelationConfig, train_re, training_rows

CORPUS = """\
101|t|Cocaine induced seizures.
101|a|Seizures followed cocaine use in two patients. Hypotension was not seen.
101\t0\t7\tCocaine\tChemical\tD003042
101\t16\t24\tseizures\tDisease\tD012640
101\t26\t34\tSeizures\tDisease\tD012640
101\t44\t51\tcocaine\tChemical\tD003042
101\t73\t84\tHypotension\tDisease\tD007022
101\tCID\tD003042\tD012640

102|t|Lithium and the kidney.
102|a|Lithium carbonate was given for mania. Months later renal failure and tremor developed.
102\t0\t7\tLithium\tChemical\tD008094
102\t24\t41\tLithium carbonate\tChemical\tD016651
102\t56\t61\tmania\tDisease\tD001714
102\t76\t89\trenal failure\tDisease\tD051437
102\t94\t100\ttremor\tDisease\tD014202
102\tCID\tD016651\tD051437
102\tCID\tD016651\tD014202

103|t|A note without diseases.
103|a|Aspirin was studied.
103\t25\t32\tAspirin\tChemical\tD001241

"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    p = tmp_path_factory.mktemp("cid") / "tiny.PubTator.txt"
    p.write_text(CORPUS)
    return p


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory, tokenizer):
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    enc = BertModel(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=64, max_position_embeddings=512), add_pooling_layer=False)
    out = tmp_path_factory.mktemp("tiny-base")
    enc.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from medkb.training.config import default_base_model

    return AutoTokenizer.from_pretrained(default_base_model())


def cfg(corpus, base, **kw) -> RelationConfig:
    raw = {"train": [str(corpus)], "dev": [str(corpus)], "base_model": str(base), "num_layers": 2, "max_tokens": 64,
           "head": {"dim": 16, "heads": 2, "emb": 32, "block": 8, "dropout": 0.0}, "epochs": 3, "batch_size": 2,
           "lr": 3e-3, "hypernym_filter": False, **kw}
    return RelationConfig.from_dict(raw)


def test_gold_candidates_and_labels(corpus):
    docs = load_cid(corpus)
    assert [d.pmid for d in docs] == ["101", "102", "103"]
    assert docs[2].cand.candidates == ()  # no disease: no candidate, no error
    labels = dict(zip([(c.chemical_id, c.disease_id) for c in docs[1].cand.candidates], docs[1].labels(), strict=True))
    assert labels[("MESH:D016651", "MESH:D051437")] == 1.0 and labels[("MESH:D008094", "MESH:D051437")] == 0.0
    assert not next(c for c in docs[1].cand.candidates if c.disease_id == "MESH:D051437").intra  # cross-sentence


def test_training_writes_a_self_contained_model_that_loads(corpus, tiny_base, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDKB_DATA_DIR", str(tmp_path / "data"))  # the state cache goes under it
    result = train_re(cfg(corpus, tiny_base), tmp_path / "m", threads=1)
    out = result.output_dir
    for name in ("config.json", "model.safetensors", "tokenizer.json", "relation_head.pt", "medkb.json", "metrics.json",
                 "learning_curve.png", "checkpoint-last/relation_head.pt"):
        assert (out / name).exists(), name
    meta = json.loads((out / "medkb.json").read_text())
    assert meta["kind"] == "re" and meta["labels"] == ["none", "CID"] and 1 <= meta["best_epoch"] <= 3
    metrics = json.loads((out / "metrics.json").read_text())
    primary = metrics["primary"]
    assert set(metrics["dev"][primary]) >= {"micro", "intra", "cross"}
    assert list((tmp_path / "cache" / "re-states").glob("*.pt"))  # frozen states kept for the next run
    clf = RelationClassifier(out)
    assert clf.threshold == meta["threshold"]
    assert len(clf.score([d.cand for d in load_cid(corpus)])) == 3


def test_rescore_rechooses_the_threshold_and_rewrites_the_metrics(corpus, tiny_base, tmp_path, monkeypatch):
    from medkb.training.relation_train import rescore_re

    monkeypatch.setenv("MEDKB_DATA_DIR", str(tmp_path / "data"))
    # the top layer trains, so no state is cached (in bf16): training and rescoring see the same states
    out = train_re(cfg(corpus, tiny_base, epochs=1, finetune_layers=1), tmp_path / "m", threads=1).output_dir
    trained = json.loads((out / "metrics.json").read_text())
    meta = json.loads((out / "medkb.json").read_text())
    (out / "medkb.json").write_text(json.dumps({**meta, "threshold": 0.99}))  # a stale threshold
    (out / "metrics.json").write_text("{}")
    metrics = rescore_re(out, threads=1)
    assert metrics == trained  # the same network, decoded as training decoded it
    again = json.loads((out / "medkb.json").read_text())
    assert again["threshold"] == meta["threshold"]
    assert json.loads((out / "metrics.json").read_text()) == metrics


def test_same_seed_same_model(corpus, tiny_base, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDKB_DATA_DIR", str(tmp_path / "data"))
    a = train_re(cfg(corpus, tiny_base, epochs=1), tmp_path / "a", threads=1)
    b = train_re(cfg(corpus, tiny_base, epochs=1), tmp_path / "b", threads=1)
    assert a.history[0]["train_loss"] == b.history[0]["train_loss"]


def test_hypernym_negatives_are_masked_out_of_the_loss(corpus):
    from medkb.nlp.relation_candidates import MeshTree

    docs = load_cid(corpus)
    tree = MeshTree({"MESH:D007674": ("C12.777.419",), "MESH:D051437": ("C12.777.419.780",)})
    # pretend doc 102 also mentions the kidney-disease ancestor of renal failure: that negative is dropped
    rows = training_rows(docs, tree)
    assert all(all(k) for _, _, k in rows)  # no ancestor mentioned: nothing dropped
    from dataclasses import replace

    from medkb.nlp.relation_candidates import doc_candidates
    from medkb.nlp.relations import LinkedSpan

    d = docs[1]
    spans = [*d.cand.mentions, LinkedSpan(16, 22, "Disease", ("MESH:D007674",))]
    d2 = replace(d, cand=doc_candidates(d.cand.doc_id, d.cand.text, d.cand.sentences, spans, d.cand.title_end))
    [(_, labels, keep)] = training_rows([d2], tree)
    dropped = [c for c, k in zip(d2.cand.candidates, keep, strict=True) if not k]
    assert [(c.chemical_id, c.disease_id) for c in dropped] == [("MESH:D016651", "MESH:D007674")]


def test_the_re_policy_gates_on_triples_and_on_intra_and_cross_sentence_f1():
    from medkb.registry import GatePolicy, gate

    policy = GatePolicy.load(kind="re")
    assert policy.types == ("intra", "cross")
    champ = {"micro": {"f1": 56.0}, "intra": {"f1": 62.0}, "cross": {"f1": 41.0}}
    better = {"micro": {"f1": 58.0}, "intra": {"f1": 63.0}, "cross": {"f1": 40.0}}
    worse_cross = {"micro": {"f1": 58.0}, "intra": {"f1": 66.0}, "cross": {"f1": 30.0}}
    assert gate(better, champ, policy)[0]
    ok, reasons = gate(worse_cross, champ, policy)
    assert not ok and any("cross F1 drops" in r for r in reasons)
    assert not gate({"micro": {"f1": 40.0}}, None, policy)[0]  # below the first champion's bar


def test_finetuning_the_top_layer_changes_it_and_only_it(corpus, tiny_base, tmp_path, monkeypatch):
    import torch
    from transformers import AutoModel

    monkeypatch.setenv("MEDKB_DATA_DIR", str(tmp_path / "data"))
    result = train_re(cfg(corpus, tiny_base, epochs=2, finetune_layers=1, encoder_lr=1e-2), tmp_path / "ft", threads=1)
    before = AutoModel.from_pretrained(tiny_base)
    after = AutoModel.from_pretrained(result.output_dir)
    top, bottom = "encoder.layer.1.", "encoder.layer.0."
    old = dict(before.named_parameters())
    changed = {n for n, p in after.named_parameters()
               if n in old and not n.startswith("pooler.") and not torch.equal(p, old[n])}  # no pooler saved
    assert changed and all(n.startswith(top) for n in changed)  # the top layer trained, the rest stayed frozen
    assert not any(n.startswith(bottom) for n in changed)
    assert not list((tmp_path / "cache" / "re-states").glob("*.pt"))  # nothing cached: the states moved
    assert len(RelationClassifier(result.output_dir).score([d.cand for d in load_cid(corpus)])) == 3
    with pytest.raises(Exception, match="finetune_layers 5"):
        train_re(cfg(corpus, tiny_base, epochs=1, finetune_layers=5), tmp_path / "bad", threads=1)
