"""What the refinement DAG's tests share: a staged night and a training config small enough for CI."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from medkb.pipelines import kb_refresh
from medkb.settings import Settings
from medkb.training.lexicon import DEV_FILES, TRAIN_FILES

SLICE = Path(__file__).resolve().parents[1] / "fixtures" / "medline" / "pubmed20n0014_first50.xml.gz"


@pytest.fixture
def tiny_refinement(pg, settings: Settings, tmp_path: Path) -> Path:
    """50 citations ingested and validated (the refinement set's source) and a one-layer, one-epoch
    training config on four abstracts; returns the config's path."""
    kb_refresh.ingest_literature(settings, "night-1", [str(SLICE)])
    kb_refresh.validate_literature(settings, "night-1")
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({
        "train": [str(TRAIN_FILES[0])], "dev": [str(DEV_FILES[0])], "num_layers": 1, "epochs": 1,
        "limit_docs": 4, "limit_dev_docs": 2, "max_tokens": 64, "batch_size": 8, "lr": 5e-4,
    }))
    return config
