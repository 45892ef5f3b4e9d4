from __future__ import annotations

import numpy as np
import pytest

from medkb.nlp.sentences import split_sentences
from medkb.nlp.windows import LABELS, Span, bio_labels, decode, encode, make_windows
from medkb.training.data import load_corpus
from medkb.training.lexicon import TRAIN_FILES

BC5_TRAIN = TRAIN_FILES[0]


@pytest.fixture(scope="module")
def docs():
    return load_corpus(BC5_TRAIN)[:40]


@pytest.mark.parametrize("max_tokens", [126, 40])
def test_labels_decode_back_to_the_gold_spans(tokenizer, docs, max_tokens):
    """BIO labels built from character offsets decode to exactly the gold spans, windows never cut one."""
    for ex in docs:
        enc = encode(tokenizer, ex.text)
        windows = make_windows(enc, split_sentences(ex.text), max_tokens, ex.spans)
        assert windows[0].lo == 0 and windows[-1].hi == len(enc.ids)
        assert all(a.hi == b.lo for a, b in zip(windows, windows[1:], strict=False))
        got = []
        for w in windows:
            assert w.hi - w.lo <= max_tokens
            onehot = np.eye(len(LABELS))[bio_labels(enc, w, ex.spans)]
            got += decode(enc, w, onehot)
        assert {(s.start, s.end, s.type) for s in got} == {(s.start, s.end, s.type) for s in ex.spans}, ex.key


def test_windows_prefer_sentence_boundaries(tokenizer):
    text = "Cocaine causes seizures. " * 3 + "Naloxone reverses hypotension."
    enc = encode(tokenizer, text)
    windows = make_windows(enc, split_sentences(text), 12)
    starts = {enc.offsets[w.lo][0] for w in windows}
    assert starts <= {s for s, _ in split_sentences(text)}


def test_decode_words_take_the_mean_of_their_pieces(tokenizer):
    text = "hepatotoxicity occurred"
    enc = encode(tokenizer, text)
    w = make_windows(enc, [(0, len(text))], 126)[0]
    n = w.hi - w.lo
    assert enc.words[w.lo] == enc.words[w.lo + 1]  # "hepatotoxicity" is several pieces
    probs = np.full((n, len(LABELS)), 0.01)
    probs[:, 0] = 0.9  # O everywhere ...
    probs[0] = [0.3, 0.01, 0.01, 0.6, 0.08]  # ... B-Disease on the first piece,
    pieces = [j for j in range(1, n) if enc.words[w.lo + j] == enc.words[w.lo]]
    probs[pieces] = [0.1, 0.01, 0.01, 0.08, 0.8]  # I-Disease on the rest: the word's mean says Disease
    spans = decode(enc, w, probs)
    assert [(s.start, s.end, s.type) for s in spans] == [(0, len("hepatotoxicity"), "Disease")]
    assert 0 < spans[0].score <= 1
    probs[pieces] = [0.9, 0.01, 0.01, 0.04, 0.04]  # a confident O on the other pieces outvotes the first
    assert decode(enc, w, probs) == []


def test_decode_never_starts_a_span_with_an_orphan_i(tokenizer):
    """BIO constraints: "I-Chemical" right after O is read as the start of a span (Viterbi), and an
    I of another type cannot continue a span."""
    text = "aspirin and warfarin"
    enc = encode(tokenizer, text)
    w = make_windows(enc, [(0, len(text))], 126)[0]
    rows = {"aspirin": [0.1, 0.4, 0.45, 0.02, 0.03], "and": [0.9, 0.02, 0.04, 0.02, 0.02],
            "warfarin": [0.1, 0.3, 0.3, 0.0, 0.3]}
    probs = np.array([rows[text[s:e]] if text[s:e] in rows else rows[_word(text, enc, i)]
                      for i, (s, e) in enumerate(enc.offsets[w.lo : w.hi])])
    spans = decode(enc, w, probs)
    assert [(text[s.start : s.end], s.type) for s in spans] == [("aspirin", "Chemical"), ("warfarin", "Chemical")]


def _word(text, enc, i):
    word = enc.words[i]
    starts = [s for (s, _), wd in zip(enc.offsets, enc.words, strict=True) if wd == word]
    ends = [e for (_, e), wd in zip(enc.offsets, enc.words, strict=True) if wd == word]
    return text[min(starts) : max(ends)]


def test_span_is_a_value():
    assert Span(1, 2, "Chemical") == Span(1, 2, "Chemical", 1.0)
