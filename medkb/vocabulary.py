"""The words every room shares: entity types, predicates and how identifiers are spelled.

The ground floor: it imports nothing from medkb, and every module that names a type, a
predicate or a document id takes it from here, so a new type or id scheme is one edit.
"""

from __future__ import annotations

# Concept kinds in the graph (each a node label) and in extracted mentions.
ENTITY_TYPES: tuple[str, ...] = ("Chemical", "Disease", "Phenotype", "Gene")
# What the NER model tags and is scored on (the gold corpora annotate these two).
NER_TYPES: tuple[str, ...] = ("Chemical", "Disease")
# Relations between concepts; an assertion's predicate is one of these.
PREDICATES: tuple[str, ...] = ("INDUCES", "TREATS", "ASSOCIATED_WITH")
# Which concept kinds a predicate joins, when no mention in the document says otherwise.
PREDICATE_ENDS: dict[str, tuple[str, str]] = {
    "INDUCES": ("Chemical", "Disease"),
    "TREATS": ("Chemical", "Disease"),
    "ASSOCIATED_WITH": ("Gene", "Disease"),
}

DOC_PREFIX = "PMID:"


def doc_id(pmid: str) -> str:
    """A citation's document id (`PMID:<pmid>`): the key of Document nodes and extracted rows."""
    return f"{DOC_PREFIX}{pmid}"


def pmid_of(document_id: str) -> str:
    """The PMID of a document id; an id of another scheme is returned as it is."""
    return document_id[len(DOC_PREFIX):] if document_id.startswith(DOC_PREFIX) else document_id
