"""Word-piece windows over a document, BIO labels from character offsets, and decoding back to spans.

Training and inference share this module so that a model sees the same windows in both: whole
sentences packed up to `max_tokens` word pieces, a window never ends inside a protected span (a
gold entity during training), and a sentence longer than a window is cut at word boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LABEL_TYPES = ("Chemical", "Disease")
LABELS = ("O",) + tuple(f"{p}-{t}" for t in LABEL_TYPES for p in ("B", "I"))
LABEL2ID = {label: i for i, label in enumerate(LABELS)}


@dataclass(frozen=True)
class Span:
    """A typed character span with a confidence; what NER predicts and what gold data holds."""

    start: int
    end: int
    type: str
    score: float = 1.0


@dataclass(frozen=True)
class Encoded:
    """A document tokenised once: word-piece ids, their character offsets and word indices."""

    ids: list[int]
    offsets: list[tuple[int, int]]
    words: list[int]


@dataclass(frozen=True)
class Window:
    """Word pieces `[lo, hi)` of an Encoded document."""

    lo: int
    hi: int


def encode(tokenizer: Any, text: str) -> Encoded:
    """Tokenise with offsets (needs a fast tokenizer)."""
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    words = enc.word_ids()
    return Encoded(list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]], [w if w is not None else -1 for w in words])


def make_windows(
    enc: Encoded, sentences: list[tuple[int, int]], max_tokens: int, protected: list[Span] = ()
) -> list[Window]:
    """Pack whole sentences into windows of at most `max_tokens` pieces, never cutting a protected span."""
    n = len(enc.ids)
    if n == 0:
        return []
    # allowed cut points: piece index i where a window may start (i.e. between i-1 and i)
    inside = [False] * (n + 1)
    for sp in protected:
        for i in range(1, n):
            if enc.offsets[i][0] >= sp.end:
                break
            if sp.start < enc.offsets[i][0]:
                inside[i] = True
    word_cut = [i == 0 or enc.words[i] != enc.words[i - 1] for i in range(n)] + [True]
    sent_starts = {s for s, _ in sentences}
    sent_cut = [False] * (n + 1)
    k = 0
    ordered = sorted(sent_starts)
    for i in range(n):
        while k < len(ordered) and ordered[k] <= enc.offsets[i][0]:
            if i > 0 and enc.offsets[i - 1][0] < ordered[k]:
                sent_cut[i] = True
            k += 1
    windows: list[Window] = []
    lo = 0
    while lo < n:
        hi_max = min(n, lo + max_tokens)
        if hi_max == n:
            windows.append(Window(lo, n))
            break
        hi = next((i for i in range(hi_max, lo, -1) if sent_cut[i] and not inside[i]), None)
        if hi is None:
            hi = next((i for i in range(hi_max, lo, -1) if word_cut[i] and not inside[i]), None)
        if hi is None:
            hi = next((i for i in range(hi_max, lo, -1) if word_cut[i]), hi_max)
        windows.append(Window(lo, hi))
        lo = hi
    return windows


def bio_labels(enc: Encoded, window: Window, spans: list[Span]) -> list[int]:
    """BIO label ids for the pieces of a window: a piece inside a span is B on its first piece, else I."""
    labels = [LABEL2ID["O"]] * (window.hi - window.lo)
    for sp in spans:
        if sp.type not in LABEL_TYPES:
            continue
        first = True
        for j, i in enumerate(range(window.lo, window.hi)):
            s, e = enc.offsets[i]
            if e <= sp.start or s >= sp.end or s == e:
                continue
            labels[j] = LABEL2ID[("B-" if first else "I-") + sp.type]
            first = False
    return labels


def decode(enc: Encoded, window: Window, probs: Any) -> list[Span]:
    """Spans from per-piece label probabilities (rows = pieces of the window, columns = LABELS).

    A word takes the label of its first piece and spans cover whole words; an I that does not
    continue a span of its type starts one. The score is the mean probability of the chosen labels.
    """
    spans: list[Span] = []
    cur: list | None = None  # [start, end, type, score_sum, count]
    prev_word = None
    for j, i in enumerate(range(window.lo, window.hi)):
        word = enc.words[i]
        row = probs[j]
        if word == prev_word and word != -1:
            if cur is not None:
                cur[1] = max(cur[1], enc.offsets[i][1])
            continue
        prev_word = word
        best = int(row.argmax())
        label = LABELS[best]
        p = float(row[best])
        if label == "O":
            if cur is not None:
                spans.append(Span(cur[0], cur[1], cur[2], cur[3] / cur[4]))
                cur = None
            continue
        tag, typ = label.split("-", 1)
        if tag == "I" and cur is not None and cur[2] == typ:
            cur[1] = enc.offsets[i][1]
            cur[3] += p
            cur[4] += 1
            continue
        if cur is not None:
            spans.append(Span(cur[0], cur[1], cur[2], cur[3] / cur[4]))
        cur = [enc.offsets[i][0], enc.offsets[i][1], typ, p, 1]
    if cur is not None:
        spans.append(Span(cur[0], cur[1], cur[2], cur[3] / cur[4]))
    return spans
