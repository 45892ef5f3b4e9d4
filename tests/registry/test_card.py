"""The model card describes the kind's own task: an `re` model is not called an NER model."""

from __future__ import annotations

from datetime import UTC, datetime

from medkb.registry.card import CARD_TEMPLATE, card_template, write_card
from medkb.registry.store import ModelRecord

RE_METRICS = {"primary": "dev.txt", "dev": {"dev.txt": {
    "micro": {"p": 48.33, "r": 68.68, "f1": 56.73},
    "intra": {"p": 53.99, "r": 73.43, "f1": 62.23}, "cross": {"p": 33.58, "r": 54.03, "f1": 41.42},
    "threshold": 0.2}}}


def test_each_kind_has_its_card(tmp_path):
    assert card_template("ner") == CARD_TEMPLATE
    assert card_template("re") != CARD_TEMPLATE
    assert card_template("no-such-kind") == CARD_TEMPLATE
    rec = ModelRecord("re-t-1", "re", None, datetime(2026, 12, 1, tzinfo=UTC), str(tmp_path), RE_METRICS, "challenger")
    meta = {"config": {"train": ["x/CDR_TrainingSet.PubTator.txt"], "num_layers": 4}, "threshold": 0.2,
            "hypernym_filter": True, "train_docs": 500, "train_positives": 1038, "train_negatives": 4194}
    card = write_card(tmp_path, rec, meta).read_text()
    assert "relation classification" in card and "named-entity recognition" not in card
    assert "| dev.txt | cross | 33.58 | 54.03 | 41.42 |" in card and "| dev.txt | micro | 48.33 | 68.68 | 56.73 |" in card
    assert "threshold**: 0.2" in card and "1038 positive" in card
    assert "cut to 4 layers, frozen" in card
    meta["config"].update(finetune_layers=2, encoder_lr=5e-5)
    card = write_card(tmp_path, rec, meta).read_text()
    assert "cut to 4 layers, its top 2 fine-tuned (lr 5e-05)" in card
