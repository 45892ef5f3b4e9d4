"""The document-level CID network: one encoder pass per document, every candidate pair scored from it.

Each mention is wrapped in marker tokens ("*", as in ATLOP, Zhou et al. 2021) and represented by its
start marker's state; a concept is the logsumexp over its mentions; a pair adds a context vector
pooled with the product of both concepts' attention rows (ATLOP's localized context pooling). A
grouped bilinear scorer and a few pair features (same sentence, distance, counts, title) give one
logit per pair.

The encoder (all-MiniLM-L6-v2, cut to its first layers) is frozen, or only its top layers train
(`finetune_layers`), with a small transformer layer on top trained with the scorer. A frozen
encoder's states are computed once and each epoch then costs a few CPU-seconds; the shipped model
tunes the top 2 of 4 layers (about 8 min an epoch on 2 CPU cores), which gained 3.9 dev F1 over the
frozen one. A document longer than the encoder's window is covered by overlapping windows whose
states are averaged where they overlap: nothing is truncated.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from medkb.nlp.relation_candidates import N_FEATURES, DocCandidates

MARKER = "*"


@dataclass(frozen=True)
class EncodedDoc:
    """A document's word pieces with mention markers (no [CLS]/[SEP]) and where each mention starts."""

    cand: DocCandidates
    ids: tuple[int, ...]
    mention_pos: tuple[int, ...]  # position of each mention's start marker
    piece_sentence: tuple[int, ...]  # sentence index of every position


def encode_doc(tokenizer: Any, cand: DocCandidates, marker_id: int) -> EncodedDoc:
    """Tokenise once and insert a marker before and after every mention (nested ones included)."""
    enc = tokenizer(cand.text, add_special_tokens=False, return_offsets_mapping=True)
    pieces, offsets = list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]
    starts_at: dict[int, list[int]] = {}
    ends_at: dict[int, list[int]] = {}
    for m, sp in enumerate(cand.mentions):
        inside = [j for j, (s, e) in enumerate(offsets) if s < sp.end and e > sp.start and e > s]
        if not inside:  # a mention with no word piece: mark the nearest piece after it
            inside = [min(bisect.bisect_left([s for s, _ in offsets], sp.start), max(len(offsets) - 1, 0))]
        starts_at.setdefault(inside[0], []).append(m)
        ends_at.setdefault(inside[-1], []).append(m)
    sent_starts = [s for s, _ in cand.sentences]
    ids: list[int] = []
    psent: list[int] = []
    mpos = [0] * len(cand.mentions)
    for j, piece in enumerate(pieces):
        sent = max(0, bisect.bisect_right(sent_starts, offsets[j][0]) - 1)
        for m in starts_at.get(j, ()):
            mpos[m] = len(ids)
            ids.append(marker_id)
            psent.append(sent)
        ids.append(piece)
        psent.append(sent)
        for _ in ends_at.get(j, ()):
            ids.append(marker_id)
            psent.append(sent)
    return EncodedDoc(cand, tuple(ids), tuple(mpos), tuple(psent))


def windows(n: int, size: int) -> list[tuple[int, int]]:
    """Overlapping [lo, hi) windows of at most `size` positions covering 0..n (half-window stride)."""
    if n <= size:
        return [(0, n)]
    out, lo, stride = [], 0, max(1, size // 2)
    while True:
        hi = min(lo + size, n)
        out.append((hi - size, hi) if hi == n else (lo, hi))
        if hi == n:
            return out
        lo += stride


def encoder_states(encoder: Any, docs: list[EncodedDoc], max_len: int, cls_id: int, sep_id: int,
                   layers: tuple[int, ...] = (-1,)) -> list[dict[int, Any] | None]:
    """Per document with candidates: {layer: positions x hidden} of the frozen encoder (None otherwise).

    Windows of a batch run together (padded); where windows overlap their states are averaged.
    """
    import torch

    rows = [(d, lo, hi) for d, doc in enumerate(docs) if doc.cand.candidates for lo, hi in windows(len(doc.ids), max_len - 2)]
    out: list[dict[int, Any] | None] = [None] * len(docs)
    if not rows:
        return out
    dev = next(encoder.parameters()).device
    width = max(hi - lo for _, lo, hi in rows) + 2
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, (d, lo, hi) in enumerate(rows):
        seq = [cls_id, *docs[d].ids[lo:hi], sep_id]
        ids[r, : len(seq)] = torch.tensor(seq)
        mask[r, : len(seq)] = 1
    res = encoder(input_ids=ids.to(dev), attention_mask=mask.to(dev), output_hidden_states=True)
    hs = {k: res.hidden_states[k].float() for k in layers}
    sums: dict[int, dict[int, Any]] = {}
    counts: dict[int, Any] = {}
    for r, (d, lo, hi) in enumerate(rows):
        n = len(docs[d].ids)
        if d not in sums:
            sums[d] = {k: h.new_zeros((n, h.shape[-1])) for k, h in hs.items()}
            counts[d] = torch.zeros((n, 1), device=dev)
        for k, h in hs.items():
            sums[d][k][lo:hi] += h[r, 1 : hi - lo + 1]
        counts[d][lo:hi] += 1
    for d, by_layer in sums.items():
        out[d] = {k: v / counts[d].clamp(min=1) for k, v in by_layer.items()}
    return out


def build_head(hidden: int, dim: int = 128, heads: int = 4, emb: int = 256, block: int = 32, dropout: float = 0.1) -> Any:
    """The trainable part over the frozen encoder's states: a projection, one small transformer layer
    (whose attention also pools each pair's context), the concept pooling and a grouped bilinear scorer."""
    import torch
    from torch import nn

    if emb % block:
        raise ValueError(f"relation head: emb {emb} is not a multiple of block {block}")

    class RelationHead(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb, self.block = emb, block
            self.proj = nn.Linear(hidden, dim)
            self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
            self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.ff = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
            self.drop = nn.Dropout(dropout)
            self.head_c = nn.Linear(2 * dim, emb)
            self.head_d = nn.Linear(2 * dim, emb)
            self.bilinear = nn.Linear(emb * block, 1)
            self.feat = nn.Sequential(nn.Linear(N_FEATURES, 16), nn.Tanh(), nn.Linear(16, 1))

        def forward(self, states: list[Any], docs: list[EncodedDoc]) -> tuple[Any, list[Any]]:
            """Logits of every candidate of `docs` (in order) and each pair's context weights over positions."""
            logits, weights = [], []
            for doc, h in zip(docs, states, strict=True):
                if not doc.cand.candidates:
                    continue
                x = self.proj(h).unsqueeze(0)
                a, att = self.attn(x, x, x, need_weights=True, average_attn_weights=False)
                x = self.norm1(x + self.drop(a))
                x = self.norm2(x + self.drop(self.ff(x)))
                x, att = x[0], att[0]  # positions x dim, heads x positions x positions
                ci = [list(c.chemical_mentions) for c in doc.cand.candidates]
                di = [list(c.disease_mentions) for c in doc.cand.candidates]
                ec, ac = _pool(x, att, ci, doc.mention_pos)
                ed, ad = _pool(x, att, di, doc.mention_pos)
                q = (ac * ad).mean(1)  # pairs x positions
                q = q / (q.sum(-1, keepdim=True) + 1e-5)
                ctx = q @ x
                zc = torch.tanh(self.head_c(self.drop(torch.cat([ec, ctx], -1))))
                zd = torch.tanh(self.head_d(self.drop(torch.cat([ed, ctx], -1))))
                k = self.emb // self.block
                bl = (zc.view(-1, k, self.block, 1) * zd.view(-1, k, 1, self.block)).reshape(-1, self.emb * self.block)
                f = torch.tensor([doc.cand.features(c) for c in doc.cand.candidates], dtype=bl.dtype, device=bl.device)
                logits.append(self.bilinear(bl).squeeze(-1) + self.feat(f).squeeze(-1))
                weights.append(q.detach())
            if not logits:
                return torch.zeros(0), []
            return torch.cat(logits), weights

    return RelationHead()


def _pool(h: Any, att: Any, groups: list[list[int]], mention_pos: tuple[int, ...]) -> tuple[Any, Any]:
    """Per concept: logsumexp of its mentions' marker states and the mean of their attention rows."""
    import torch

    embs, atts = [], []
    for g in groups:
        pos = torch.tensor([mention_pos[i] for i in g], device=h.device)
        embs.append(torch.logsumexp(h[pos], dim=0))
        atts.append(att[:, pos].mean(1))
    return torch.stack(embs), torch.stack(atts)


def load_encoder(base: Any, num_layers: int = 0) -> Any:
    """A frozen base encoder (AutoModel) from a local directory, cut to its first `num_layers` layers."""
    import torch
    from transformers import AutoModel

    # float32 whatever the file holds (a shipped release carries bf16 weights)
    enc = AutoModel.from_pretrained(base, add_pooling_layer=False, dtype=torch.float32)
    if num_layers:
        enc.encoder.layer = enc.encoder.layer[:num_layers]
        enc.config.num_hidden_layers = num_layers
    enc.eval()
    for p in enc.parameters():
        p.requires_grad = False
    return enc


def sentence_mass(weights: Any, doc: EncodedDoc) -> list[float]:
    """Sum of a pair's context weights over each sentence's positions."""
    mass = [0.0] * len(doc.cand.sentences)
    for p, w in zip(doc.piece_sentence, weights.tolist(), strict=True):
        mass[p] += w
    return mass
