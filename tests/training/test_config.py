from __future__ import annotations

import pytest

from medkb.settings import REPO_ROOT
from medkb.training.config import ConfigError, NerConfig


def test_default_recipe_loads_and_its_files_exist():
    cfg = NerConfig.load(REPO_ROOT / "models" / "ner.yaml")
    assert all(cfg.resolve(p).exists() for p in (*cfg.train, *cfg.dev))
    assert (cfg.base_model_dir() / "config.json").exists()


def test_unknown_and_missing_keys_are_named():
    with pytest.raises(ConfigError, match="unknown keys.*lerning_rate"):
        NerConfig.from_dict({"train": ["a"], "dev": ["b"], "lerning_rate": 1})
    with pytest.raises(ConfigError, match="`dev`"):
        NerConfig.from_dict({"train": ["a"]})
