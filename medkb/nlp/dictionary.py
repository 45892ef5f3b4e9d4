"""Dictionary extractor: longest match of known names over word tokens (the baseline and the fallback).

Used when the registry has no champion (a fresh CI machine) and as the baseline in bench/ner.py.
Matching is on normalised words (vocab.norm), so case, plurals and punctuation do not matter.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable

from medkb.nlp.vocab import Entry, norm
from medkb.nlp.windows import Span
from medkb.vocabulary import NER_TYPES

_WORD = re.compile(r"[^\W_]+|[^\w\s]", re.UNICODE)
STOP = frozenset({"a", "an", "and", "or", "the", "of", "in", "on", "to", "with", "for", "at", "by", "as", "is", "was",
                  "be", "it", "no", "not", "all", "can", "may", "one", "two", "rat", "dose", "level", "patient",
                  "control", "acid", "ion", "today", "lead", "iron", "water", "oxygen", "salt", "sugar"})
MAX_WORDS = 8


class DictionaryTagger:
    """Longest-match tagger over a name list; a name's type is its most frequent type in the list."""

    version = "dictionary-v1"

    def __init__(self, entries: Iterable[Entry], types: tuple[str, ...] = NER_TYPES, min_chars: int = 3) -> None:
        votes: dict[tuple[str, ...], Counter] = defaultdict(Counter)
        for e in entries:
            if e.type not in types:
                continue
            key = tuple(norm(e.name).split())
            if not key or len(key) > MAX_WORDS or (len(key) == 1 and (key[0] in STOP or len(key[0]) < min_chars)):
                continue
            if all(w.isdigit() for w in key):
                continue
            votes[key][e.type] += 10 if e.source == "gold" else 1
        self.names = {k: c.most_common(1)[0][0] for k, c in votes.items()}

    def predict(self, texts: list[str], sentences: object = None, progress: object = None) -> list[list[Span]]:
        """Spans for each text (same signature as TransformerTagger.predict)."""
        out = []
        for text in texts:
            out.append(self._tag(text))
            if progress is not None:
                progress.update(1)
        return out

    def _tag(self, text: str) -> list[Span]:
        toks = [(m.start(), m.end(), norm(m.group())) for m in _WORD.finditer(text)]
        toks = [t for t in toks if t[2]]
        spans: list[Span] = []
        i = 0
        while i < len(toks):
            hit = None
            for n in range(min(MAX_WORDS, len(toks) - i), 0, -1):
                key = tuple(t[2] for t in toks[i : i + n])
                typ = self.names.get(key)
                if typ is not None:
                    hit = (n, typ)
                    break
            if hit is None:
                i += 1
                continue
            n, typ = hit
            spans.append(Span(toks[i][0], toks[i + n - 1][1], typ, 1.0))
            i += n
        return spans
