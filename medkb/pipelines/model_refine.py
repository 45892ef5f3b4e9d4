"""The model refinement (DAG medkb_model_refine): one stage function per DAG task, in `STAGES`.

Build the refinement set (gold + the champion's confident labels on newly ingested abstracts),
train a challenger on it, then let the champion/challenger gate decide. Each step hands over
through the registry directory and the registry table, so a failed step is retried alone.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from medkb.db.postgres import connect
from medkb.settings import REPO_ROOT, Settings
from medkb.staging import documents as staged

# The DAG file imports this module at parse time: registry, nlp and training are imported inside
# the stages (bench/dag_parse.py checks).

log = logging.getLogger(__name__)
DEFAULT_CONFIG = REPO_ROOT / "models" / "ner.yaml"


def _safe(run_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in run_id)


def refinement_path(settings: Settings, run_id: str) -> Path:
    from medkb import registry

    return registry.registry_dir(settings) / "refinement" / f"{_safe(run_id)}.PubTator.txt"


def build_refinement_set(
    settings: Settings, run_id: str, *, limit: int = 4000, ratio: float = 0.5, min_score: float = 0.9,
    config: Path | str = DEFAULT_CONFIG, output: Path | None = None,
) -> dict[str, Any]:
    """Silver labels from the champion on the newest staged abstracts, capped at ratio × gold text."""
    from medkb.nlp.extract import SourceDoc
    from medkb.nlp.serving import build_extractor
    from medkb.training.config import NerConfig
    from medkb.training.data import load_corpora
    from medkb.training.silver import build_silver_set

    cfg = NerConfig.load(config)
    gold_chars = sum(len(ex.text) for ex in load_corpora([cfg.resolve(p) for p in cfg.train]))
    with connect(settings) as conn:
        rows = staged.recent_abstracts(conn, limit)
        extractor = build_extractor(settings, conn)
    docs = [SourceDoc.from_staged(r) for r in rows]
    path = output or refinement_path(settings, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    counts = build_silver_set(extractor, docs, gold_chars, path, ratio=ratio, min_score=min_score)
    log.info("refinement set %s: %s (labelled by %s)", path, counts, extractor.version)
    return {"path": str(path), "labeller": extractor.version, **counts}


def train_challenger(
    settings: Settings, run_id: str, silver_path: str | None, *, config: Path | str = DEFAULT_CONFIG,
    epochs: int | None = None, threads: int | None = None,
) -> dict[str, Any]:
    """Fine-tune per the config (plus the silver set) and register the result as a challenger."""
    from medkb import registry
    from medkb.training.config import NerConfig
    from medkb.training.finetune import train_ner
    from medkb.training.lexicon import build_lexicon

    cfg = NerConfig.load(config)
    if silver_path:
        cfg = replace(cfg, silver=str(silver_path))
    if epochs:
        cfg = replace(cfg, epochs=epochs)
    with connect(settings) as conn:
        out = registry.reserve_version(conn, settings)
    result = train_ner(cfg, out, threads=threads)
    build_lexicon(out, [cfg.resolve(p) for p in cfg.train])
    with connect(settings) as conn:
        rec = registry.register(conn, out, settings)
    log.info("challenger %s trained in %.0f s (best epoch %s)", rec.version, result.seconds, result.best_epoch)
    return {"version": rec.version, "status": rec.status, "best_epoch": result.best_epoch}


def gate_challenger(settings: Settings, version: str) -> dict[str, Any]:
    """Promote the challenger only if it beats the champion by the policy's margin; record why."""
    from medkb import registry

    with connect(settings) as conn:
        decision = registry.promote(conn, version)  # the policy of the model's kind (models/promotion.yaml)
    log.info("%s %s: %s", "promoted" if decision.promote else "kept the champion over", version,
             "; ".join(decision.reasons))
    return {"version": version, "promoted": decision.promote, "reasons": list(decision.reasons)}


# In DAG order: each stage hands over through the registry directory and table.
STAGES = (build_refinement_set, train_challenger, gate_challenger)
