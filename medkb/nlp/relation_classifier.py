"""CID inference with a trained relation model directory: candidates in, scored pairs with evidence out.

The directory is self-contained: the fine-tuned encoder (config.json, model.safetensors), tokenizer,
the head (relation_head.pt), medkb.json (kind "re", label map, window, threshold, version) and the
eval JSON (metrics.json). Precision is a deployment option as for NER: fp32, bf16 autocast on the
CPU ("auto" = bf16 where the CPU has it), or int8 (dynamic quantisation of the encoder's Linear layers). A pair's evidence is the sentence holding both concepts
with the most context weight, or for a cross-sentence pair the best chemical sentence and the best
disease sentence (two sentences, joined by " … "; start/end span both).

Decoding: a pair is kept at or above the threshold chosen on dev at training. `at_least_one` also
keeps each document's best pair whatever its score: BioCreative V's corpus prior (every BC5CDR
abstract states at least one CID relation), off in the nightly, where an abstract may well state none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medkb.nlp.relation_candidates import Candidate, DocCandidates, MeshTree, hypernym_negatives
from medkb.nlp.relation_model import (
    MARKER,
    EncodedDoc,
    build_head,
    encode_doc,
    encoder_states,
    load_encoder,
    sentence_mass,
)

HEAD_FILE = "relation_head.pt"
LABELS = ("none", "CID")


class RelationModelError(RuntimeError):
    """A relation model directory is missing or incomplete; the message names it and what to do."""


@dataclass(frozen=True)
class ScoredPair:
    chemical_id: str
    disease_id: str
    score: float
    start: int  # evidence: first sentence start, last sentence end
    end: int
    evidence: tuple[tuple[int, int], ...]  # the one or two evidence sentences
    intra: bool

    def sentence(self, text: str) -> str:
        return " … ".join(text[s:e] for s, e in self.evidence)


class RelationClassifier:
    """A trained CID model: `score` gives every candidate's probability, `predict` the kept pairs."""

    def __init__(self, model_dir: Path | str, *, precision: str = "fp32", batch_size: int = 8,
                 threads: int | None = None, device: str | None = None) -> None:
        import torch
        from transformers import AutoTokenizer

        from medkb.nlp.ner import quantize_int8, resolve_precision

        self.model_dir = Path(model_dir)
        meta_path = self.model_dir / "medkb.json"
        if not meta_path.exists() or not (self.model_dir / HEAD_FILE).exists():
            raise RelationModelError(f"{self.model_dir}: no medkb.json or {HEAD_FILE}; train one with "
                                     "`medkb train re --config models/re.yaml` or pass a relation model directory")
        if threads:
            torch.set_num_threads(threads)
        meta = json.loads(meta_path.read_text())
        if meta.get("kind") != "re":
            raise RelationModelError(f"{self.model_dir}: medkb.json kind {meta.get('kind')!r} is not 're'")
        tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        encoder = load_encoder(self.model_dir)
        head = build_head(encoder.config.hidden_size, **meta["head"])
        head.load_state_dict(torch.load(self.model_dir / HEAD_FILE, map_location="cpu", weights_only=True))
        precision = resolve_precision(precision)
        self.device = device or ("cuda" if torch.cuda.is_available() and precision != "int8" else "cpu")
        if precision == "int8":  # the encoder's Linear layers, as for NER; the small head stays fp32
            encoder = quantize_int8(encoder)
        self._setup(encoder.to(self.device), head.to(self.device).eval(), tokenizer, meta,
                    str(meta.get("version", self.model_dir.name)), precision, batch_size)

    @classmethod
    def from_parts(cls, encoder: Any, head: Any, tokenizer: Any, meta: dict[str, Any], *, version: str = "in-training",
                   batch_size: int = 8) -> RelationClassifier:
        """Wrap an encoder and head in memory (evaluation during training)."""
        self = cls.__new__(cls)
        self.model_dir = Path(".")
        self.device = next(head.parameters()).device.type
        self._setup(encoder, head, tokenizer, meta, version, "fp32", batch_size)
        return self

    def _setup(self, encoder: Any, head: Any, tokenizer: Any, meta: dict[str, Any], version: str, precision: str,
               batch_size: int) -> None:
        self.encoder, self.head, self.tokenizer, self.meta, self.version = encoder, head, tokenizer, meta, version
        self.precision, self.batch_size = precision, batch_size
        self.max_tokens = int(meta.get("max_tokens", 512))
        self.threshold = float(meta.get("threshold", 0.5))
        self.hypernym_filter = bool(meta.get("hypernym_filter", True))
        self.marker_id = tokenizer.convert_tokens_to_ids(meta.get("marker", MARKER))

    def encode(self, cands: list[DocCandidates]) -> list[EncodedDoc]:
        return [encode_doc(self.tokenizer, c, self.marker_id) for c in cands]

    def score(self, cands: list[DocCandidates], progress: Any = None,
              states: list[Any] | None = None) -> list[tuple[list[float], list[Any], EncodedDoc]]:
        """Per document: each candidate's probability, its context weights, and the encoded document.

        `states`: the encoder's states of these documents, when already computed (training caches them).
        """
        import torch

        encoded = self.encode(cands)
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i].ids))
        out: list[Any] = [None] * len(encoded)
        cls_id, sep_id = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        with torch.inference_mode():
            for b in range(0, len(order), self.batch_size):
                idx = order[b : b + self.batch_size]
                docs = [encoded[i] for i in idx]
                ctx = torch.autocast(self.device, dtype=torch.bfloat16, enabled=self.precision == "bf16" or self.device == "cuda")
                with ctx:
                    if states is None:
                        hs = [s[-1] if s else None for s in encoder_states(self.encoder, docs, self.max_tokens, cls_id, sep_id)]
                    else:
                        hs = [states[i] for i in idx]
                    logits, weights = self.head([h for h in hs if h is not None], [d for d in docs if d.cand.candidates])
                probs = torch.sigmoid(logits.float()).tolist()
                k = w = 0
                for i, doc in zip(idx, docs, strict=True):
                    n = len(doc.cand.candidates)
                    out[i] = (probs[k : k + n], [] if not n else list(weights[w].float().cpu()), doc)
                    k += n
                    w += 1 if n else 0
                if progress is not None:
                    progress.update(len(docs))
        return out

    def predict(self, cands: list[DocCandidates], tree: MeshTree | None = None, threshold: float | None = None,
                progress: Any = None, *, at_least_one: bool = False) -> list[list[ScoredPair]]:
        """The pairs at or above the threshold, with evidence; hypernym-filtered when a MeSH tree is given."""
        thr = self.threshold if threshold is None else threshold
        return [select(probs, weights, doc, thr, tree if self.hypernym_filter else None, at_least_one)
                for probs, weights, doc in self.score(cands, progress)]


def select(probs: list[float], weights: list[Any], doc: EncodedDoc, threshold: float, tree: MeshTree | None,
           at_least_one: bool = False) -> list[ScoredPair]:
    """A document's kept pairs (see `kept`) with their evidence."""
    cands = doc.cand.candidates
    return [_with_evidence(cands[i], probs[i], weights[i], doc) for i in kept(cands, probs, threshold, tree, at_least_one)]


def kept(cands: tuple[Candidate, ...], probs: list[float], threshold: float, tree: MeshTree | None,
         at_least_one: bool = False) -> list[int]:
    """Indices of the candidates at or above `threshold`, plus the best one when none is and `at_least_one`
    asks for it, less each kept disease that is a MeSH ancestor of another kept disease of the same
    chemical (the specific one is the relation)."""
    idx = [i for i, p in enumerate(probs) if p >= threshold]
    if not idx and at_least_one and probs:
        idx = [max(range(len(probs)), key=probs.__getitem__)]
    if tree is None or len(idx) < 2:
        return idx
    diseases: dict[str, set[str]] = {}
    for i in idx:
        diseases.setdefault(cands[i].chemical_id, set()).add(cands[i].disease_id)
    out = []
    for i in idx:
        c = cands[i]
        others = {(c.chemical_id, d) for d in diseases[c.chemical_id] if d != c.disease_id}
        if not (others and hypernym_negatives([(c.chemical_id, c.disease_id)], others, tree)):
            out.append(i)
    return out


def _with_evidence(c: Candidate, p: float, w: Any, doc: EncodedDoc) -> ScoredPair:
    mass = sentence_mass(w, doc)
    sents = doc.cand.sentences
    msent = doc.cand.mention_sentence
    if c.sentences:
        ev = (sents[max(c.sentences, key=lambda s: mass[s])],)
    else:
        sc = max({msent[m] for m in c.chemical_mentions}, key=lambda s: mass[s])
        sd = max({msent[m] for m in c.disease_mentions}, key=lambda s: mass[s])
        ev = tuple(sents[s] for s in sorted((sc, sd)))
    return ScoredPair(c.chemical_id, c.disease_id, round(float(p), 4), ev[0][0], ev[-1][1], ev, bool(c.sentences))
