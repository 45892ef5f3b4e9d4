from __future__ import annotations

import pytest

from medkb.nlp.ner import ModelDirError, TransformerTagger
from medkb.nlp.windows import LABEL_TYPES

TEXTS = [
    "Naloxone reverses the antihypertensive effect of clonidine.",
    "Famotidine-associated delirium. " + "A series of six cases of delirium after famotidine. " * 20,
]


def test_tagger_returns_typed_spans_inside_the_text(tiny_model_dir):
    tagger = TransformerTagger(tiny_model_dir, batch_size=4)
    out = tagger.predict(TEXTS)
    assert len(out) == 2 and tagger.version == "tiny-1"
    for text, spans in zip(TEXTS, out, strict=True):
        for s in spans:
            assert 0 <= s.start < s.end <= len(text) and s.type in LABEL_TYPES and 0 < s.score <= 1


def test_batching_and_order_do_not_change_predictions(tiny_model_dir):
    """Length-sorted batches are an optimisation only: one text alone gets the same spans."""
    tagger = TransformerTagger(tiny_model_dir, batch_size=3)
    together = tagger.predict(TEXTS)
    alone = [tagger.predict([t])[0] for t in TEXTS]
    assert [[(s.start, s.end, s.type) for s in d] for d in together] == [[(s.start, s.end, s.type) for s in d] for d in alone]


def test_int8_quantised_model_runs(tiny_model_dir):
    import torch

    tagger = TransformerTagger(tiny_model_dir, quantize=True)
    assert any(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in tagger.model.modules())
    assert len(tagger.predict(TEXTS[:1])) == 1


def test_missing_model_dir_says_what_to_do(tmp_path):
    with pytest.raises(ModelDirError, match="medkb train ner"):
        TransformerTagger(tmp_path)
