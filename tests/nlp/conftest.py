"""Fixtures for the NLP tests: a tokenizer and an untrained 1-layer tagger directory (seconds to build)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tokenizer():
    from transformers import AutoTokenizer

    from medkb.training.config import default_base_model

    return AutoTokenizer.from_pretrained(default_base_model())


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """all-MiniLM-L6-v2 cut to one layer with a fresh 5-label head, saved like a trained model."""
    import torch

    from medkb.nlp.windows import LABEL2ID, LABELS
    from medkb.training.config import NerConfig
    from medkb.training.finetune import load_base

    torch.manual_seed(0)
    cfg = NerConfig.from_dict({"train": ["x"], "dev": ["y"], "num_layers": 1})
    model, tok = load_base(cfg)
    out = tmp_path_factory.mktemp("tiny-ner")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    (out / "medkb.json").write_text(json.dumps({"max_tokens": 126, "labels": list(LABELS), "version": "tiny-1"}))
    assert model.config.label2id == LABEL2ID
    return out
