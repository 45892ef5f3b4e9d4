"""MLM pre-training on the MEDLINE fixture: runs, saves a loadable encoder, and keeps the encoder
frozen while the freshly initialised MLM head warms up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medkb.training.pretrain import PretrainConfig, abstracts, pretrain

FIXTURE = Path(__file__).parents[1] / "fixtures" / "medline" / "pubmed20n0014_first50.xml.gz"


def _encoder_weight(path: Path):
    from transformers import AutoModel

    return AutoModel.from_pretrained(path).embeddings.word_embeddings.weight.detach().clone()


def test_abstracts_reads_title_and_abstract():
    texts = list(abstracts((str(FIXTURE),), max_docs=3))
    assert len(texts) == 3
    assert all(len(t) > 100 for t in texts)


@pytest.mark.parametrize("head_steps, encoder_moves", [(10, False), (0, True)])
def test_pretrain_head_warmup(tmp_path, head_steps, encoder_moves):
    import torch

    from medkb.training.config import default_base_model

    cfg = PretrainConfig(files=(str(FIXTURE),), max_docs=4, max_steps=2, batch_size=4, max_tokens=64, head_steps=head_steps)
    summary = pretrain(cfg, tmp_path / "mlm", threads=1)
    assert summary["steps"] == 2
    assert json.loads((tmp_path / "mlm" / "pretrain.json").read_text())["steps"] == 2
    before, after = _encoder_weight(default_base_model()), _encoder_weight(tmp_path / "mlm")
    assert torch.equal(before, after) is not encoder_moves
