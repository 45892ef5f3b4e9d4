"""Fine-tune a BERT-style encoder for Chemical/Disease token classification.

Seeded; windows of whole sentences (never cutting an entity); length-bucketed batches; AdamW
with linear warm-up and decay; strict dev F1 after every epoch with early stopping; the best
epoch is saved (weights, tokenizer, medkb.json, metrics.json, learning_curve.png). bf16 autocast
when CUDA is present.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from medkb.nlp.ner import TransformerTagger
from medkb.nlp.sentences import split_sentences
from medkb.nlp.windows import LABEL2ID, LABELS, bio_labels, encode, make_windows
from medkb.training.config import NerConfig
from medkb.training.data import Example, load_corpora, load_corpus
from medkb.training.early_stop import EarlyStop
from medkb.training.evaluate import confusion, span_scores

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    output_dir: Path
    best_epoch: int
    dev: dict[str, Any]  # {dev file name: scores} of the best epoch
    history: list[dict[str, Any]]
    seconds: float


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_features(examples: list[Example], tokenizer: Any, max_tokens: int,
                   guideline_ids: dict[str, int] | None = None) -> list[tuple[list[int], list[int]]]:
    """(input ids with [CLS]/[SEP], label ids with -100 on the specials) for every window.

    guideline_ids maps an example's source file to the token id of its annotation guideline,
    which then follows [CLS]; a source it does not name gets no token.
    """
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    feats = []
    for ex in examples:
        enc = encode(tokenizer, ex.text)
        g = (guideline_ids or {}).get(ex.source)
        head, head_labels = ([cls], [-100]) if g is None else ([cls, g], [-100, -100])
        for w in make_windows(enc, split_sentences(ex.text), max_tokens, ex.spans):
            feats.append(([*head, *enc.ids[w.lo : w.hi], sep], [*head_labels, *bio_labels(enc, w, ex.spans), -100]))
    return feats


def guideline_ids(cfg: NerConfig, tokenizer: Any, sources: Iterable[str]) -> dict[str, int]:
    """Token id of each source file's annotation guideline (the default one for unnamed files, e.g. silver)."""
    if not cfg.guidelines:
        return {}
    tokens = cfg.guideline_tokens()
    return {src: tokenizer.convert_tokens_to_ids(tokens[cfg.guidelines.get(src, cfg.default_guideline)]) for src in sources}


def batches(feats: list, batch_size: int, rng: random.Random) -> list[list]:
    """Shuffled batches of similar lengths: shuffle, sort within chunks of 50 batches, shuffle batches."""
    idx = list(range(len(feats)))
    rng.shuffle(idx)
    out = []
    chunk = batch_size * 50
    for c in range(0, len(idx), chunk):
        part = sorted(idx[c : c + chunk], key=lambda i: len(feats[i][0]))
        out.extend(part[b : b + batch_size] for b in range(0, len(part), batch_size))
    rng.shuffle(out)
    return [[feats[i] for i in b] for b in out]


def collate(batch: list, pad_id: int) -> tuple[Any, Any, Any]:
    import torch

    width = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for r, (i, lab) in enumerate(batch):
        ids[r, : len(i)] = torch.tensor(i)
        labels[r, : len(lab)] = torch.tensor(lab)
        mask[r, : len(i)] = 1
    return ids, mask, labels


def load_base(cfg: NerConfig) -> tuple[Any, Any]:
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    base = cfg.base_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForTokenClassification.from_pretrained(
        base, num_labels=len(LABELS), id2label=dict(enumerate(LABELS)), label2id=LABEL2ID,
    )
    if cfg.num_layers:
        encoder = model.base_model.encoder
        encoder.layer = encoder.layer[: cfg.num_layers]
        model.config.num_hidden_layers = cfg.num_layers
    return model, tokenizer


def evaluate_model(tagger: TransformerTagger, examples: list[Example], sentences: list | None = None) -> dict[str, Any]:
    """Strict span scores and the confusion summary of a tagger on gold examples."""
    pred = tagger.predict([e.text for e in examples], sentences)
    gold = [e.spans for e in examples]
    return {**span_scores(gold, pred), "confusion": confusion(gold, pred)}


def rescore(model_dir: Path | str) -> dict[str, Any]:
    """Dev scores of a saved model with the current decoding, as training would have written them
    (each dev file under its own annotation guideline): metrics.json is rewritten and returned.

    Decoding improves without retraining (the Viterbi decoder did); a champion's stored scores then
    understate it, and the gate would compare a new challenger against stale figures.
    """
    model_dir = Path(model_dir)
    meta = json.loads((model_dir / "medkb.json").read_text())
    cfg = NerConfig.from_dict(meta["config"], origin=str(model_dir / "medkb.json"))
    dev = {}
    for p in cfg.dev:
        name = Path(p).name
        guideline = cfg.guidelines.get(name) if cfg.guidelines else None
        tagger = TransformerTagger(model_dir, guideline=guideline)
        examples = load_corpus(cfg.resolve(p))
        if cfg.limit_dev_docs:
            examples = examples[: cfg.limit_dev_docs]
        dev[name] = evaluate_model(tagger, examples)
    metrics = {"primary": Path(cfg.dev[0]).name, "dev": dev}
    (model_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    (model_dir / "dev_scores.json").write_text(json.dumps(dev, indent=1))
    return metrics


def train_ner(cfg: NerConfig, output_dir: Path | str, *, threads: int | None = None) -> TrainResult:
    """Train, evaluate each epoch on the dev files, keep the best epoch in `output_dir`."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if threads:
        torch.set_num_threads(threads)
    seed_everything(cfg.seed)
    t0 = time.monotonic()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, tokenizer = load_base(cfg)
    model.to(device)
    train = load_corpora(cfg.resolve(p) for p in cfg.train)
    if cfg.silver:
        silver = cfg.resolve(cfg.silver)
        if not silver.exists() and cfg.silver_recipe:
            from medkb.settings import data_dir_from_env
            from medkb.training.silver import rebuild_silver

            log.info("silver file %s missing: %s", silver,
                     rebuild_silver(cfg.silver_recipe, sum(len(ex.text) for ex in train), silver, data_dir_from_env()))
        train += load_corpus(silver)
    if cfg.limit_docs:
        train = train[: cfg.limit_docs]
    devs = {Path(p).name: load_corpus(cfg.resolve(p)) for p in cfg.dev}
    if cfg.limit_dev_docs:
        devs = {k: v[: cfg.limit_dev_docs] for k, v in devs.items()}
    dev_sents = {k: [split_sentences(e.text) for e in v] for k, v in devs.items()}
    gids = guideline_ids(cfg, tokenizer, {ex.source for ex in train} | set(devs))
    feats = build_features(train, tokenizer, cfg.max_tokens, gids)
    log.info("train: %d docs, %d windows; dev: %s", len(train), len(feats), {k: len(v) for k, v in devs.items()})
    rng = random.Random(cfg.seed)
    steps_per_epoch = math.ceil(len(feats) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)], "weight_decay": cfg.weight_decay},
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=cfg.lr)
    sched = get_linear_schedule_with_warmup(opt, int(cfg.warmup * total), total)
    primary = Path(cfg.dev[0]).name
    history: list[dict[str, Any]] = []
    stop = EarlyStop(cfg.patience, cfg.max_minutes, t0)
    try:
        for epoch in range(1, cfg.epochs + 1):
            model.train()
            loss_sum, n = 0.0, 0
            bar = tqdm(batches(feats, cfg.batch_size, rng), desc=f"epoch {epoch}/{cfg.epochs}", unit="batch", mininterval=5)
            for batch in bar:
                ids, mask, labels = (t.to(device) for t in collate(batch, tokenizer.pad_token_id))
                ctx = torch.autocast("cuda", dtype=torch.bfloat16) if device == "cuda" else torch.autocast("cpu", enabled=False)
                with ctx:
                    loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
                opt.zero_grad()
                loss_sum += float(loss.detach())
                n += 1
                bar.set_postfix(loss=f"{loss_sum / n:.4f}", refresh=False)
            model.eval()
            dev_scores = {}
            for k, v in devs.items():
                tagger = TransformerTagger.from_model(model, tokenizer, max_tokens=cfg.max_tokens, device=device,
                                                      guideline_id=gids.get(k))
                dev_scores[k] = evaluate_model(tagger, v, dev_sents[k])
            f1 = dev_scores[primary]["micro"]["f1"]
            row = {"epoch": epoch, "train_loss": round(loss_sum / max(n, 1), 5), "dev_f1": {k: v["micro"]["f1"] for k, v in dev_scores.items()},
                   "elapsed_s": round(time.monotonic() - t0, 1)}
            history.append(row)
            log.info("epoch %d: %s", epoch, row)
            print(json.dumps(row), flush=True)
            if stop.improved(epoch, f1):
                model.save_pretrained(output_dir)
                tokenizer.save_pretrained(output_dir)
                (output_dir / "dev_scores.json").write_text(json.dumps(dev_scores, indent=1))
            model.save_pretrained(output_dir / "checkpoint-last")
            if stop.should_stop(epoch):
                break
    except KeyboardInterrupt:
        stop.interrupted()
    return finalize(cfg, output_dir, history, time.monotonic() - t0, stop.best_epoch, device,
                    {"train_docs": len(train), "train_windows": len(feats)})


def finalize(cfg: NerConfig, output_dir: Path, history: list[dict[str, Any]], seconds: float, best_epoch: int,
             device: str = "cpu", extra: dict[str, Any] | None = None) -> TrainResult:
    """Write medkb.json, metrics.json and the learning curve beside the best epoch's weights.

    Also used to finish a run stopped mid-epoch: the best finished epoch is already saved.
    """
    best = json.loads((output_dir / "dev_scores.json").read_text())
    meta = {"max_tokens": cfg.max_tokens, "labels": list(LABELS), "config": asdict(cfg), "best_epoch": best_epoch,
            "guidelines": cfg.guideline_tokens(), "default_guideline": cfg.default_guideline,
            "history": history, "train_seconds": round(seconds, 1), "device": _device_name(device), **(extra or {})}
    (output_dir / "medkb.json").write_text(json.dumps(meta, indent=1))
    (output_dir / "metrics.json").write_text(json.dumps({"primary": Path(cfg.dev[0]).name, "dev": best}, indent=1))
    plot_curve(history, output_dir / "learning_curve.png")
    return TrainResult(output_dir, best_epoch, best, history, seconds)


def _device_name(device: str) -> str:
    import torch

    return torch.cuda.get_device_name(0) if device == "cuda" else f"cpu x{torch.get_num_threads()} threads"


def plot_curve(history: list[dict[str, Any]], path: Path) -> None:
    """Training loss and dev F1 per epoch, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    a.plot(epochs, [h["train_loss"] for h in history], marker="o")
    a.set(title="training loss", xlabel="epoch")
    for name in history[0]["dev_f1"] if history else []:
        b.plot(epochs, [h["dev_f1"][name] for h in history], marker="o", label=name)
    b.set(title="dev strict micro F1 (%)", xlabel="epoch")
    b.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
