"""What the extraction stage hands to the graph loader (through Postgres, see sql/0002).

A Mention is one span in one document; an ExtractedAssertion is one (subject, predicate, object)
claim with the sentence that supports it. Both carry the model version that produced them.
"""

from __future__ import annotations

from dataclasses import dataclass

from medkb.vocabulary import ENTITY_TYPES, PREDICATES


@dataclass(frozen=True)
class Mention:
    doc_id: str  # vocabulary.doc_id(pmid)
    start: int  # character offsets into title + " " + abstract
    end: int
    text: str
    type: str  # one of ENTITY_TYPES
    concept_id: str | None  # CURIE (MESH:D008012, HP:0001250); None when no confident link
    score: float  # model confidence of the span, 0..1
    model: str  # model version, e.g. "ner-20261128-1" or "dictionary-v1"

    def __post_init__(self) -> None:
        if self.type not in ENTITY_TYPES:
            raise ValueError(f"mention {self.doc_id}:{self.start}-{self.end}: unknown type {self.type!r}")
        if not 0 <= self.start < self.end:
            raise ValueError(f"mention {self.doc_id}: bad offsets {self.start}-{self.end}")


@dataclass(frozen=True)
class ExtractedAssertion:
    subject_id: str  # CURIE of the subject concept (e.g. the chemical)
    predicate: str  # one of PREDICATES
    object_id: str  # CURIE of the object concept (e.g. the disease)
    score: float
    doc_id: str
    sentence: str  # the evidence sentence
    start: int  # the sentence's character offsets in the document text
    end: int
    model: str

    def __post_init__(self) -> None:
        if self.predicate not in PREDICATES:
            raise ValueError(f"assertion in {self.doc_id}: unknown predicate {self.predicate!r}")

    @property
    def key(self) -> str:
        """The Assertion node's id: one node per (subject, predicate, object)."""
        return f"{self.subject_id}|{self.predicate}|{self.object_id}"
