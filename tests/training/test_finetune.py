from __future__ import annotations

import json

from medkb.training.config import NerConfig
from medkb.training.finetune import train_ner
from medkb.training.lexicon import DEV_FILES, TRAIN_FILES


def tiny(**kw) -> NerConfig:
    raw = {"train": [str(TRAIN_FILES[0])], "dev": [str(DEV_FILES[0])], "num_layers": 1, "epochs": 2,
           "limit_docs": 6, "limit_dev_docs": 3, "lr": 5e-4, "batch_size": 8, "patience": 5}
    return NerConfig.from_dict({**raw, **kw})


def test_tiny_training_learns_and_saves_a_complete_model(tmp_path):
    result = train_ner(tiny(), tmp_path / "m", threads=2)
    out = result.output_dir
    for name in ("config.json", "model.safetensors", "tokenizer.json", "medkb.json", "metrics.json", "learning_curve.png"):
        assert (out / name).exists(), name
    losses = [h["train_loss"] for h in result.history]
    assert len(losses) == 2 and losses[1] < losses[0]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["primary"] == DEV_FILES[0].name and "micro" in metrics["dev"][DEV_FILES[0].name]
    assert json.loads((out / "medkb.json").read_text())["max_tokens"] == 126


def test_same_seed_same_result(tmp_path):
    a = train_ner(tiny(epochs=1, limit_docs=3, max_tokens=32), tmp_path / "a", threads=2)
    b = train_ner(tiny(epochs=1, limit_docs=3, max_tokens=32), tmp_path / "b", threads=2)
    assert a.history[0]["train_loss"] == b.history[0]["train_loss"]


GUIDES = {TRAIN_FILES[0].name: "cdr", DEV_FILES[0].name: "cdr", TRAIN_FILES[1].name: "ncbi", DEV_FILES[1].name: "ncbi"}


def test_guideline_token_follows_cls_and_carries_no_label():
    from transformers import AutoTokenizer

    from medkb.training.config import default_base_model
    from medkb.training.data import load_corpus
    from medkb.training.finetune import build_features, guideline_ids

    tokenizer = AutoTokenizer.from_pretrained(default_base_model())
    cfg = tiny(guidelines=GUIDES, default_guideline="cdr")
    assert cfg.guideline_tokens() == {"cdr": "[unused0]", "ncbi": "[unused1]"}
    ids = guideline_ids(cfg, tokenizer, [TRAIN_FILES[0].name, TRAIN_FILES[1].name, "silver.PubTator.txt"])
    assert ids == {TRAIN_FILES[0].name: 1, TRAIN_FILES[1].name: 2, "silver.PubTator.txt": 1}  # silver: the default
    ex = load_corpus(TRAIN_FILES[1])[:1]
    plain = build_features(ex, tokenizer, 126)
    marked = build_features(ex, tokenizer, 126, ids)
    assert len(plain) == len(marked)
    for (pi, pl), (mi, ml) in zip(plain, marked, strict=True):
        assert mi == [pi[0], 2, *pi[1:]]
        assert ml == [-100, -100, *pl[1:]]


def test_training_with_guidelines_records_them_and_the_tagger_uses_them(tmp_path):
    import pytest

    from medkb.nlp.ner import ModelDirError, TransformerTagger

    cfg = tiny(epochs=1, limit_docs=3, max_tokens=32, guidelines=GUIDES, default_guideline="cdr")
    out = train_ner(cfg, tmp_path / "g", threads=2).output_dir
    meta = json.loads((out / "medkb.json").read_text())
    assert meta["guidelines"] == {"cdr": "[unused0]", "ncbi": "[unused1]"} and meta["default_guideline"] == "cdr"
    text = "Cocaine-induced seizures were treated with diazepam."
    default, ncbi = TransformerTagger(out), TransformerTagger(out, guideline="ncbi")
    assert (default.guideline, default.guideline_id, ncbi.guideline_id) == ("cdr", 1, 2)
    for tagger in (default, ncbi):
        for sp in tagger.predict([text])[0]:
            assert 0 <= sp.start < sp.end <= len(text)
    with pytest.raises(ModelDirError, match="no annotation guideline 'bc2gm'"):
        TransformerTagger(out, guideline="bc2gm")


def test_guidelines_must_cover_every_corpus_file():
    import pytest

    from medkb.training.config import ConfigError

    with pytest.raises(ConfigError, match="names no guideline"):
        tiny(guidelines={TRAIN_FILES[0].name: "cdr"}, default_guideline="cdr")
    with pytest.raises(ConfigError, match="default_guideline"):
        tiny(guidelines=GUIDES, default_guideline="bc2gm")


def test_rescore_reproduces_the_training_dev_scores(tmp_path):
    from medkb.training.finetune import rescore

    cfg = tiny(epochs=1, limit_docs=3, max_tokens=32, guidelines=GUIDES, default_guideline="cdr",
               dev=[str(DEV_FILES[0]), str(DEV_FILES[1])])
    result = train_ner(cfg, tmp_path / "r", threads=2)
    trained = json.loads((result.output_dir / "metrics.json").read_text())
    again = rescore(result.output_dir)
    for name in (DEV_FILES[0].name, DEV_FILES[1].name):  # NCBI dev under its own guideline, as in training
        assert again["dev"][name]["micro"] == trained["dev"][name]["micro"]
