"""HPO phenotypes in clinical notes, found by the literature's extractor.

A FHIR case's coded findings reach HPO through hp.obo's cross-references (rules/mapping.py); what a
note says in words ("shortness of breath", "no fever") reaches it only through the text. The same
extractor as the nightly literature refresh tags the note and its HPO normaliser links the
mentions; a mention under a negation cue earlier in its sentence ("denies", "no", "negative for")
is an excluded term, which the phenotype ranking counts as evidence against.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from medkb.nlp.extract import SourceDoc

# NegEx-style pre-negation cues (Chapman et al. 2001), within the mention's sentence and before it;
# a clause break (";", ":" or a conjunction that turns the clause) ends a cue's reach.
_NEGATION = re.compile(r"\b(?:no|not|denies|denied|without|negative for|free of|absence of|ruled out)\b"
                       r"(?:(?![;:]|\bbut\b|\bhowever\b).){0,80}$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class NotePhenotype:
    """One linked phenotype mention in one note (offsets into the note's text)."""

    record_key: str
    hpo_id: str
    excluded: bool
    start: int
    end: int
    text: str


def negated(text: str, sentence_start: int, mention_start: int) -> bool:
    """Whether a negation cue between the sentence's start and the mention reaches the mention."""
    return bool(_NEGATION.search(text[sentence_start:mention_start]))


def note_phenotypes(extractor: Any, notes: Sequence[tuple[str, str]], progress: Any = None) -> list[NotePhenotype]:
    """The HPO-linked mentions of each (record_key, text) note, observed or excluded."""
    docs = [SourceDoc(doc_id=key, title="", abstract=text, source="note") for key, text in notes]
    out: list[NotePhenotype] = []
    for (key, text), ex in zip(notes, extractor.extract(docs, progress=progress), strict=True):
        full = SourceDoc("", "", text).text  # the extractor's offsets are into title + " " + text
        starts = sorted(s for s, _ in ex.sentences) or [0]
        for m in ex.mentions:
            if m.type != "Phenotype" or not m.concept_id or not m.concept_id.startswith("HP:"):
                continue
            sent = max((s for s in starts if s <= m.start), default=0)
            shift = len(full) - len(text)
            out.append(NotePhenotype(key, m.concept_id, negated(full, sent, m.start),
                                     m.start - shift, m.end - shift, m.text))
    return out
