"""`medkb eval relations --json` on a few documents with a tiny relation model (no NER, no database)."""

from __future__ import annotations

import json

import pytest

from medkb.cli import main
from tests.training.test_relation_train import CORPUS, cfg


@pytest.fixture(scope="module")
def tiny_setup(tmp_path_factory):
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from medkb.training.config import default_base_model
    from medkb.training.relation_train import train_re

    root = tmp_path_factory.mktemp("cid-cmd")
    corpus = root / "tiny.PubTator.txt"
    corpus.write_text(CORPUS)
    tok = AutoTokenizer.from_pretrained(default_base_model())
    torch.manual_seed(0)
    enc = BertModel(BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=64), add_pooling_layer=False)
    enc.save_pretrained(root / "base")
    tok.save_pretrained(root / "base")
    mp = pytest.MonkeyPatch()
    mp.setenv("MEDKB_DATA_DIR", str(root / "data"))
    model = train_re(cfg(corpus, root / "base", epochs=1), root / "re", threads=1).output_dir
    yield corpus, model
    mp.undo()


def test_eval_relations_json_has_every_run(tiny_setup, capsys):
    corpus, model = tiny_setup
    assert main(["eval", "relations", "--model", str(model), "--corpus", str(corpus), "--no-end-to-end", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("gold_entities", "cooccurrence_doc", "cooccurrence_sentence", "cue_words"):
        assert set(out[key]) >= {"p", "r", "f1"}, key
    assert set(out["gold_entities"]) >= {"intra", "cross"}
    alo = out["gold_entities_at_least_one"]  # BioCreative's prior: never fewer pairs than the plain decoding
    assert alo["pred"] >= out["gold_entities"]["pred"] and alo["r"] >= out["gold_entities"]["r"]
    # 3 gold triples; every co-occurring pair of the document recalls all of them
    assert out["cooccurrence_doc"]["gold"] == 3 and out["cooccurrence_doc"]["r"] == 100.0
    # the cross-sentence triples are out of reach of a sentence co-occurrence baseline
    assert out["cooccurrence_sentence"]["tp"] == 1


def test_eval_relations_table(tiny_setup, capsys):
    corpus, model = tiny_setup
    assert main(["eval", "relations", "--model", str(model), "--corpus", str(corpus), "--no-end-to-end"]) == 0
    text = capsys.readouterr().out
    assert "gold entities, relation model" in text and "cross-sentence pairs" in text


def test_eval_relations_names_a_missing_corpus(tiny_setup, capsys, tmp_path):
    _, model = tiny_setup
    assert main(["eval", "relations", "--model", str(model), "--corpus", str(tmp_path / "nope.txt")]) == 1
    assert "not found" in capsys.readouterr().err
