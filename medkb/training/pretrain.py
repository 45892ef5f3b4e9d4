"""Domain-adaptive pre-training: masked language modelling on MEDLINE abstracts.

The adapted encoder is saved as a plain Hugging Face directory; a fine-tuning config points
`base_model` at it. Whether it stays in the default recipe is decided by dev F1 (see the report
in notes/issue-4-ner.md), not assumed.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from medkb.sources.citations import Citation
from medkb.sources.medline import read_medline
from medkb.training.config import default_base_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PretrainConfig:
    files: tuple[str, ...]  # MEDLINE XML(.gz) files
    base_model: str = ""
    max_docs: int = 0  # 0 = all abstracts
    max_steps: int = 2000
    max_tokens: int = 128
    batch_size: int = 32
    lr: float = 5e-5
    mask_prob: float = 0.15
    seed: int = 13
    max_minutes: float = 0.0
    head_steps: int = 50  # encoder frozen while a freshly initialised MLM head learns (see pretrain())


def abstracts(files: tuple[str, ...], max_docs: int = 0) -> Iterator[str]:
    n = 0
    for f in files:
        for rec in read_medline(f):
            if isinstance(rec, Citation) and rec.abstract:
                yield f"{rec.title} {rec.abstract}"
                n += 1
                if max_docs and n >= max_docs:
                    return


def pretrain(cfg: PretrainConfig, output_dir: Path | str, *, threads: int | None = None) -> dict:
    """Run MLM for `max_steps` (or the time budget) and save the encoder with an MLM head.

    Sentence-embedding checkpoints such as all-MiniLM-L6-v2 ship no MLM head, so the head starts
    random (loss ≈ ln(vocab) ≈ 10.3); the first `head_steps` train the head alone so that its noise
    does not flow into the encoder.
    """
    import torch
    from transformers import AutoModelForMaskedLM, AutoTokenizer, DataCollatorForLanguageModeling

    if threads:
        torch.set_num_threads(threads)
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    output_dir = Path(output_dir)
    base = Path(cfg.base_model) if cfg.base_model else default_base_model()
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForMaskedLM.from_pretrained(base)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device).train()
    encoder = model.base_model.parameters
    for p in encoder():
        p.requires_grad_(cfg.head_steps <= 0)
    chunks = []
    for text in abstracts(cfg.files, cfg.max_docs):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        for i in range(0, len(ids), cfg.max_tokens - 2):
            chunks.append([tokenizer.cls_token_id, *ids[i : i + cfg.max_tokens - 2], tokenizer.sep_token_id])
    random.Random(cfg.seed).shuffle(chunks)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=cfg.mask_prob)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01)
    t0, losses, step = time.monotonic(), [], 0
    bar = tqdm(total=cfg.max_steps, desc="pretrain (MLM)", unit="step", mininterval=5)
    while step < cfg.max_steps:
        for b in range(0, len(chunks), cfg.batch_size):
            batch = collator([{"input_ids": c} for c in chunks[b : b + cfg.batch_size]])
            batch = {k: v.to(device) for k, v in batch.items()}
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
                loss = masked_lm_loss(model, batch)
            loss.backward()
            opt.step()
            opt.zero_grad()
            losses.append(loss.item())
            step += 1
            if step == cfg.head_steps:
                for p in encoder():
                    p.requires_grad_(True)
            bar.update(1)
            if step >= cfg.max_steps or (cfg.max_minutes and time.monotonic() - t0 > cfg.max_minutes * 60):
                break
        if cfg.max_minutes and time.monotonic() - t0 > cfg.max_minutes * 60:
            break
    bar.close()
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    summary = {"config": asdict(cfg), "steps": step, "chunks": len(chunks), "seconds": round(time.monotonic() - t0, 1),
               "loss_first_50": sum(losses[:50]) / max(1, len(losses[:50])),
               "loss_last_50": sum(losses[-50:]) / max(1, len(losses[-50:]))}
    (output_dir / "pretrain.json").write_text(json.dumps(summary, indent=1))
    return summary


def masked_lm_loss(model: Any, batch: dict) -> Any:
    """MLM loss with the vocabulary projection run on the masked positions only.

    The head's 30,522-way projection over every position costs about as much as the whole
    6-layer encoder; only the ~15 % masked positions carry a loss, so only they are projected.
    Falls back to the model's own loss for heads other than BERT's `cls`.
    """
    import torch

    head = getattr(model, "cls", None)
    if head is None:
        return model(**batch).loss
    hidden = model.base_model(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask")).last_hidden_state
    labels = batch["labels"]
    picked = labels != -100
    logits = head(hidden[picked])
    return torch.nn.functional.cross_entropy(logits.float(), labels[picked])
