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


def test_decode_words_take_their_first_piece_label(tokenizer):
    text = "hepatotoxicity occurred"
    enc = encode(tokenizer, text)
    w = make_windows(enc, [(0, len(text))], 126)[0]
    probs = np.full((w.hi - w.lo, len(LABELS)), 0.01)
    probs[:, 0] = 0.9  # O everywhere ...
    probs[0] = [0.05, 0.01, 0.01, 0.9, 0.03]  # ... except B-Disease on the first piece
    spans = decode(enc, w, probs)
    assert [(s.start, s.end, s.type) for s in spans] == [(0, len("hepatotoxicity"), "Disease")]
    assert 0 < spans[0].score <= 1


def test_span_is_a_value():
    assert Span(1, 2, "Chemical") == Span(1, 2, "Chemical", 1.0)
