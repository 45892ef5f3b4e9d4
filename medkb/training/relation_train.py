"""Fine-tune the document-level CID classifier on BC5CDR train, select on BC5CDR dev.

Gold entities at training time; negatives that are MeSH hypernyms of a positive of the same chemical
are dropped (BioCreative V's hypernym filtering). A frozen encoder's states are computed once per
document (with a progress bar) and each epoch trains the head alone; with `finetune_layers` the top
layers train too and the states are computed every step. Seeded; tqdm progress; AdamW with warm-up and linear decay; after each epoch the dev F1
at the best threshold (chosen on dev, stored with the model); early stopping; the best epoch is saved
with its eval JSON and learning curve; the last epoch as checkpoint-last. bf16 autocast on CUDA.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml
from tqdm import tqdm

from medkb.nlp.relation_candidates import MeshTree, hypernym_negatives, mesh_tree
from medkb.nlp.relation_classifier import HEAD_FILE, LABELS, RelationClassifier
from medkb.nlp.relation_model import MARKER, build_head, encode_doc, encoder_states, load_encoder
from medkb.settings import REPO_ROOT, data_dir_from_env
from medkb.training.config import ConfigError, default_base_model
from medkb.training.early_stop import EarlyStop
from medkb.training.finetune import TrainResult, plot_curve, seed_everything
from medkb.training.relation_data import CidDoc, load_cid
from medkb.training.relation_eval import score_gold_run

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RelationConfig:
    train: tuple[str, ...]
    dev: tuple[str, ...]  # the first selects the model
    base_model: str = ""  # "" = all-MiniLM-L6-v2 from its package
    num_layers: int = 4  # encoder layers kept (their last one feeds the head)
    finetune_layers: int = 0  # 0: the encoder is frozen (its states cached); N: its top N layers train too
    encoder_lr: float = 3e-5  # for the fine-tuned encoder layers
    max_tokens: int = 512  # encoder window (with [CLS]/[SEP]); longer documents get overlapping windows
    head: dict = field(default_factory=lambda: {"dim": 128, "heads": 4, "emb": 256, "block": 32, "dropout": 0.1})
    epochs: int = 30
    batch_size: int = 4  # documents per step
    lr: float = 3e-4
    weight_decay: float = 0.01
    warmup: float = 0.06
    patience: int = 5
    seed: int = 13
    max_minutes: float = 0.0  # budget for the epochs (after the one-off encoding); 0 = none
    hypernym_filter: bool = True
    limit_docs: int = 0
    limit_dev_docs: int = 0
    notes: str = ""
    extra: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | str) -> RelationConfig:
        try:
            raw = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read relation config: {exc}") from None
        return cls.from_dict(raw, str(path))

    @classmethod
    def from_dict(cls, raw: dict, origin: str = "<dict>") -> RelationConfig:
        unknown = set(raw) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"{origin}: unknown keys {sorted(unknown)}")
        for key in ("train", "dev"):
            if not raw.get(key):
                raise ConfigError(f"{origin}: `{key}` must list at least one PubTator file")
        return cls(**{**raw, "train": tuple(raw["train"]), "dev": tuple(raw["dev"])})

    def resolve(self, p: str) -> Path:
        path = Path(p)
        return path if path.is_absolute() else (REPO_ROOT / path).resolve()


def training_rows(docs: list[CidDoc], tree: MeshTree | None) -> list[tuple[CidDoc, list[float], list[bool]]]:
    """(doc, labels, keep mask): hypernym negatives are masked out of the loss."""
    rows = []
    for d in docs:
        pairs = [(c.chemical_id, c.disease_id) for c in d.cand.candidates]
        drop = hypernym_negatives(pairs, set(d.gold), tree) if tree is not None else set()
        rows.append((d, d.labels(), [p not in drop for p in pairs]))
    return rows


def cache_states(encoder: Any, tokenizer: Any, docs: list[CidDoc], cfg: RelationConfig, desc: str,
                 cache: Path | None = None) -> tuple[list, list]:
    """The encoded documents and the frozen encoder's last-layer states of each (None without candidates).

    The encoder is frozen, so the states depend only on the documents, the base model, its layers and
    the window: `cache` (a file) keeps them for the next run with the same inputs.
    """
    import torch

    marker = tokenizer.convert_tokens_to_ids(MARKER)
    enc = [encode_doc(tokenizer, d.cand, marker) for d in docs]
    if cache is not None and cache.exists():
        return enc, torch.load(cache, weights_only=True)
    states: list[Any] = []
    with torch.inference_mode():
        for b in tqdm(range(0, len(enc), 8), desc=desc, unit="batch", mininterval=10):
            for s in encoder_states(encoder, enc[b : b + 8], cfg.max_tokens, tokenizer.cls_token_id, tokenizer.sep_token_id):
                states.append(None if s is None else s[-1].to(torch.bfloat16))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save(states, cache.with_suffix(".part"))
        cache.with_suffix(".part").rename(cache)
    return enc, states


def state_cache(cfg: RelationConfig, base: Path, corpus: Path, limit: int) -> Path:
    """Where the frozen states of one corpus live: keyed by the file, the encoder and the window."""
    import hashlib

    st = corpus.stat()
    key = json.dumps([str(corpus), st.st_size, st.st_mtime_ns, str(base), cfg.num_layers, cfg.max_tokens, limit])
    return data_dir_from_env().parent / "cache" / "re-states" / f"{corpus.stem}-{hashlib.sha1(key.encode()).hexdigest()[:12]}.pt"


def train_re(cfg: RelationConfig, output_dir: Path | str, *, threads: int | None = 1) -> TrainResult:
    """Cache the frozen states, train the head, evaluate on dev each epoch, keep the best epoch in `output_dir`."""
    import torch
    from transformers import AutoTokenizer, get_linear_schedule_with_warmup

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if threads:
        torch.set_num_threads(threads)
    seed_everything(cfg.seed)
    t0 = time.monotonic()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    base = cfg.resolve(cfg.base_model) if cfg.base_model else default_base_model()
    tokenizer = AutoTokenizer.from_pretrained(base)
    encoder = load_encoder(base, cfg.num_layers).to(device)
    head = build_head(encoder.config.hidden_size, **cfg.head).to(device)
    tree = mesh_tree(str(data_dir_from_env())) if cfg.hypernym_filter else None
    if cfg.hypernym_filter and tree is None:
        log.warning("no MeSH tables: training without hypernym filtering")
    train = [d for p in cfg.train for d in load_cid(cfg.resolve(p), cfg.limit_docs)]
    dev = load_cid(cfg.resolve(cfg.dev[0]), cfg.limit_dev_docs)
    rows = training_rows(train, tree)
    tuned = _trainable_top(encoder, cfg.finetune_layers)
    states: list[Any] | None = None
    dev_states: list[Any] | None = None
    if tuned:  # the states change with every step: nothing to cache
        marker = tokenizer.convert_tokens_to_ids(MARKER)
        enc = [encode_doc(tokenizer, d.cand, marker) for d in train]
    elif len(cfg.train) == 1:
        enc, states = cache_states(encoder, tokenizer, train, cfg, "encode train",
                                   state_cache(cfg, base, cfg.resolve(cfg.train[0]), cfg.limit_docs))
    else:
        enc, states = cache_states(encoder, tokenizer, train, cfg, "encode train")
    if not tuned:
        _, dev_states = cache_states(encoder, tokenizer, dev, cfg, "encode dev",
                                     state_cache(cfg, base, cfg.resolve(cfg.dev[0]), cfg.limit_dev_docs))
    t_train = time.monotonic()  # the time budget counts training epochs, not the one-off encoding
    n_pos = sum(sum(lab) for _, lab, _ in rows)
    n_neg = sum(sum(1 for y, k in zip(lab, keep, strict=True) if k and not y) for _, lab, keep in rows)
    log.info("train: %d docs, %d positive and %d negative candidates; dev: %d docs (%.0f s to encode)",
             len(rows), n_pos, n_neg, len(dev), time.monotonic() - t0)
    meta = {"kind": "re", "labels": list(LABELS), "marker": MARKER, "max_tokens": cfg.max_tokens, "head": dict(cfg.head),
            "hypernym_filter": cfg.hypernym_filter, "config": asdict(cfg)}
    groups = [{"params": list(head.parameters()), "lr": cfg.lr}]
    if tuned:
        groups.append({"params": tuned, "lr": cfg.encoder_lr})
    opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    usable = [i for i, (d, _, _) in enumerate(rows) if d.cand.candidates]
    steps = math.ceil(len(usable) / cfg.batch_size)
    sched = get_linear_schedule_with_warmup(opt, int(cfg.warmup * steps * cfg.epochs), steps * cfg.epochs)
    rng = random.Random(cfg.seed)
    history: list[dict[str, Any]] = []
    stop = EarlyStop(cfg.patience, cfg.max_minutes, t_train)
    try:
        for epoch in range(1, cfg.epochs + 1):
            head.train()
            encoder.train(bool(tuned))
            order = list(usable)
            rng.shuffle(order)
            loss_sum, n = 0.0, 0
            bar = tqdm(range(0, len(order), cfg.batch_size), desc=f"re epoch {epoch}/{cfg.epochs}", unit="batch", mininterval=10)
            for b in bar:
                idx = order[b : b + cfg.batch_size]
                ctx = torch.autocast("cuda", dtype=torch.bfloat16) if device == "cuda" else torch.autocast("cpu", enabled=False)
                with ctx:
                    if tuned:
                        fresh = encoder_states(encoder, [enc[i] for i in idx], cfg.max_tokens,
                                               tokenizer.cls_token_id, tokenizer.sep_token_id)
                        batch_states = [st[-1] for st in fresh]
                    else:
                        batch_states = [states[i].float() for i in idx]
                    logits, _ = head(batch_states, [enc[i] for i in idx])
                y = torch.tensor([v for i in idx for v in rows[i][1]], device=logits.device)
                keep = torch.tensor([k for i in idx for k in rows[i][2]], device=logits.device)
                loss = torch.nn.functional.binary_cross_entropy_with_logits(logits.float()[keep], y[keep])
                loss.backward()
                torch.nn.utils.clip_grad_norm_([p for g in groups for p in g["params"]], 1.0)
                opt.step()
                sched.step()
                opt.zero_grad()
                loss_sum += float(loss.detach())
                n += 1
                bar.set_postfix(loss=f"{loss_sum / n:.4f}", refresh=False)
            head.eval()
            encoder.eval()
            clf = RelationClassifier.from_parts(encoder, head, tokenizer, meta)
            scores = score_gold_run(clf, dev, tree, states=None if dev_states is None else
                                    [None if s is None else s.float() for s in dev_states])
            f1 = scores["f1"]
            row = {"epoch": epoch, "train_loss": round(loss_sum / max(n, 1), 5), "dev_f1": {Path(cfg.dev[0]).name: f1},
                   "threshold": scores["threshold"], "intra_f1": scores["intra"]["f1"], "cross_f1": scores["cross"]["f1"],
                   "elapsed_s": round(time.monotonic() - t0, 1)}
            history.append(row)
            print(json.dumps(row), flush=True)
            if stop.improved(epoch, f1):
                save(encoder, head, tokenizer, out, {**meta, "threshold": scores["threshold"]})
                (out / "dev_scores.json").write_text(json.dumps(scores, indent=1))
            save(encoder, head, tokenizer, out / "checkpoint-last", {**meta, "threshold": scores["threshold"]})
            if stop.should_stop(epoch):
                break
    except KeyboardInterrupt:
        stop.interrupted()
    return finalize_re(cfg, out, history, time.monotonic() - t0, stop.best_epoch, device,
                       {"train_docs": len(rows), "train_positives": int(n_pos), "train_negatives": int(n_neg)})


def _trainable_top(encoder: Any, n: int) -> list[Any]:
    """Unfreeze the encoder's top `n` transformer layers; return their parameters (none for n = 0)."""
    if n <= 0:
        return []
    layers = encoder.encoder.layer
    if n > len(layers):
        raise ConfigError(f"finetune_layers {n}: the encoder keeps only {len(layers)} layers (num_layers)")
    params = [p for layer in layers[-n:] for p in layer.parameters()]
    for p in params:
        p.requires_grad_(True)
    return params


def save(encoder: Any, head: Any, tokenizer: Any, out: Path, meta: dict[str, Any]) -> None:
    """The encoder (HF format), tokenizer, head weights and medkb.json: a self-contained directory."""
    import torch

    out.mkdir(parents=True, exist_ok=True)
    encoder.save_pretrained(out)
    tokenizer.save_pretrained(out)
    torch.save(head.state_dict(), out / HEAD_FILE)
    old = json.loads((out / "medkb.json").read_text()) if (out / "medkb.json").exists() else {}
    (out / "medkb.json").write_text(json.dumps({**old, **meta}, indent=1))


def finalize_re(cfg: RelationConfig, out: Path, history: list[dict[str, Any]], seconds: float, best_epoch: int,
                device: str, extra: dict[str, Any]) -> TrainResult:
    """medkb.json (history, timing), metrics.json (the registry's shape) and the learning curve."""
    import torch

    best = json.loads((out / "dev_scores.json").read_text())
    meta = json.loads((out / "medkb.json").read_text())
    meta.update({"best_epoch": best_epoch, "history": history, "train_seconds": round(seconds, 1),
                 "device": torch.cuda.get_device_name(0) if device == "cuda" else f"cpu x{torch.get_num_threads()} threads",
                 **extra})
    (out / "medkb.json").write_text(json.dumps(meta, indent=1))
    primary = Path(cfg.dev[0]).name
    (out / "metrics.json").write_text(json.dumps({"primary": primary, "dev": {primary: relation_metrics(best)}}, indent=1))
    plot_curve(history, out / "learning_curve.png")
    return TrainResult(out, best_epoch, {primary: best}, history, seconds)


def relation_metrics(scores: dict[str, Any]) -> dict[str, Any]:
    """Gold-entity dev scores in the registry's shape ({"micro": {p, r, f1}, ...})."""
    return {"micro": {k: scores[k] for k in ("p", "r", "f1")}, "intra": scores.get("intra"), "cross": scores.get("cross"),
            "threshold": scores.get("threshold"), "at_least_one": scores.get("at_least_one")}


def rescore_re(model_dir: Path | str, *, threads: int | None = None) -> dict[str, Any]:
    """Dev scores of a saved relation model with the current decoding (threshold re-chosen on dev):
    medkb.json's threshold, dev_scores.json and metrics.json are rewritten; metrics returned.

    As for NER (`finetune.rescore`): decoding improves without retraining, and the gate must not compare
    a challenger decoded today against a champion's figures from an older decoder."""
    model_dir = Path(model_dir)
    meta = json.loads((model_dir / "medkb.json").read_text())
    cfg = RelationConfig.from_dict(meta["config"], origin=str(model_dir / "medkb.json"))
    tree = mesh_tree(str(data_dir_from_env())) if cfg.hypernym_filter else None
    clf = RelationClassifier(model_dir, threads=threads)
    scores = score_gold_run(clf, load_cid(cfg.resolve(cfg.dev[0]), cfg.limit_dev_docs), tree)
    (model_dir / "medkb.json").write_text(json.dumps({**meta, "threshold": scores["threshold"]}, indent=1))
    (model_dir / "dev_scores.json").write_text(json.dumps(scores, indent=1))
    primary = Path(cfg.dev[0]).name
    metrics = {"primary": primary, "dev": {primary: relation_metrics(scores)}}
    (model_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    return metrics
