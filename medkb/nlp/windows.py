"""Word-piece windows over a document, BIO labels from character offsets, and decoding back to spans.

Training and inference share this module so that a model sees the same windows in both: whole
sentences packed up to `max_tokens` word pieces, a window never ends inside a protected span (a
gold entity during training), and a sentence longer than a window is cut at word boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from medkb.vocabulary import NER_TYPES

LABEL_TYPES = NER_TYPES
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

    A word's label distribution is the mean over its pieces, and the word labels are the most
    probable BIO sequence (Viterbi: an I only continues a B or I of its type). On the first
    champion's BC5CDR dev output this gave 83.71 strict micro F1 against 82.91 for the argmax of
    each word's first piece (NCBI dev 81.93 against 80.00): most errors were span boundaries.
    Spans cover whole words; the score is the mean probability of the chosen labels.
    """
    import numpy as np

    words: list[list] = []  # [start, end, first row index, last row index + 1]
    prev_word = None
    for j, i in enumerate(range(window.lo, window.hi)):
        word = enc.words[i]
        if word == prev_word and word != -1:
            words[-1][1] = max(words[-1][1], enc.offsets[i][1])
            words[-1][3] = j + 1
            continue
        prev_word = word
        words.append([enc.offsets[i][0], enc.offsets[i][1], j, j + 1])
    if not words:
        return []
    probs = np.asarray(probs, dtype=np.float64)
    starts = np.fromiter((a for _, _, a, _ in words), dtype=np.int64, count=len(words))
    sizes = np.fromiter((b - a for _, _, a, b in words), dtype=np.float64, count=len(words))
    rows = np.add.reduceat(probs, starts, axis=0) / sizes[:, None]
    labels = _viterbi(np.log(np.clip(rows, 1e-9, 1.0)))
    spans: list[Span] = []
    cur: list | None = None  # [start, end, type, score_sum, count]
    for (start, end, _, _), row, best in zip(words, rows, labels, strict=True):
        label = LABELS[best]
        if label == "O":
            if cur is not None:
                spans.append(Span(cur[0], cur[1], cur[2], cur[3] / cur[4]))
                cur = None
            continue
        tag, typ = label.split("-", 1)
        if tag == "I" and cur is not None:  # Viterbi guarantees the type matches
            cur[1] = end
            cur[3] += float(row[best])
            cur[4] += 1
            continue
        if cur is not None:
            spans.append(Span(cur[0], cur[1], cur[2], cur[3] / cur[4]))
        cur = [start, end, typ, float(row[best]), 1]
    if cur is not None:
        spans.append(Span(cur[0], cur[1], cur[2], cur[3] / cur[4]))
    return spans


def _viterbi(logp: Any) -> list[int]:
    """The most probable label sequence under the BIO constraints (log-probabilities in, ids out).

    With LABELS = O, B-Chemical, I-Chemical, B-Disease, I-Disease: O and B may follow anything;
    I-X only B-X or I-X. Plain floats: for five labels this is several times faster than numpy.
    """
    rows = logp.tolist()
    neg = -1e18
    o, bc, ic, bd, id_ = rows[0]
    score = [o, bc, neg, bd, neg]
    back: list[tuple[int, ...]] = []
    for o, bc, ic, bd, id_ in rows[1:]:
        best = max(range(5), key=score.__getitem__)
        top = score[best]
        c_prev = 1 if score[1] >= score[2] else 2
        d_prev = 3 if score[3] >= score[4] else 4
        back.append((best, best, c_prev, best, d_prev))
        score = [top + o, top + bc, score[c_prev] + ic, top + bd, score[d_prev] + id_]
    path = [max(range(5), key=score.__getitem__)]
    for b in reversed(back):
        path.append(b[path[-1]])
    return path[::-1]
