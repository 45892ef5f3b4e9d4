"""Sentence splitting and abbreviations with spaCy, scispaCy's tokenizer and AbbreviationDetector.

No scispaCy model can be installed here, so the pipeline is `spacy.blank("en")` with scispaCy's
rule tokenizer (it keeps chemical names such as "2,4-D" whole), a punctuation sentencizer and
scispaCy's model-free abbreviation detector (Schwartz & Hearst 2003).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class Abbreviation:
    """A short form at `start:end` whose long form is at `long_start:long_end`."""

    start: int
    end: int
    long_start: int
    long_end: int


@lru_cache(maxsize=2)
def pipeline(abbreviations: bool = True) -> Any:
    """The shared spaCy pipeline (built once per process: building costs about a second)."""
    import spacy
    from scispacy.custom_tokenizer import combined_rule_tokenizer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        nlp = spacy.blank("en")
        nlp.tokenizer = combined_rule_tokenizer(nlp)
        nlp.add_pipe("sentencizer")
        if abbreviations:
            from scispacy.abbreviation import AbbreviationDetector  # noqa: F401  (registers the factory)

            nlp.add_pipe("abbreviation_detector")
    return nlp


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of `text`."""
    doc = pipeline(False)(text)
    return [(s.start_char, s.end_char) for s in doc.sents]


def analyse(texts: list[str]) -> list[tuple[list[tuple[int, int]], list[Abbreviation]]]:
    """Sentences and abbreviations of many texts in one spaCy pass."""
    out = []
    with warnings.catch_warnings():
        # scispaCy's detector warns on every text whose global matcher has no patterns yet
        warnings.filterwarnings("ignore", message=r".*\[W036\]")
        docs = list(pipeline(True).pipe(texts, batch_size=64))
    for doc in docs:
        sents = [(s.start_char, s.end_char) for s in doc.sents]
        abbrs = [
            Abbreviation(a.start_char, a.end_char, a._.long_form.start_char, a._.long_form.end_char)
            for a in doc._.abbreviations
        ]
        out.append((sents, abbrs))
    return out
