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
