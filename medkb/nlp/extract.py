"""The extraction pipeline: sentences and abbreviations, NER, normalisation, INDUCES relations.

Input is plain (doc id, title, abstract) records; output is the hand-off records of
nlp/extracted.py. Works with any tagger that has `predict(texts, sentences)` and `version`: the
registry's champion (TransformerTagger) or, when the operator chooses it, the DictionaryTagger.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from medkb import vocabulary
from medkb.nlp.extracted import ExtractedAssertion, Mention
from medkb.nlp.normalise import Link, Normaliser
from medkb.nlp.relations import LinkedSpan, extract_relations
from medkb.nlp.sentences import Abbreviation, analyse, tagged_abbreviations
from medkb.nlp.windows import Span


class Tagger(Protocol):
    version: str

    def predict(self, texts: list[str], sentences: Any = None, progress: Any = None) -> list[list[Span]]: ...


@dataclass(frozen=True)
class SourceDoc:
    """A document to extract from, with its provenance."""

    doc_id: str  # vocabulary.doc_id(pmid)
    title: str
    abstract: str
    source: str = "medline"
    version: int = 1

    @property
    def text(self) -> str:
        return f"{self.title} {self.abstract}"

    @classmethod
    def from_staged(cls, row: Mapping[str, Any]) -> SourceDoc:
        """A staged_documents row (staging/documents.py) as a document to extract from."""
        return cls(vocabulary.doc_id(row["source_key"]), row["title"] or "", row["abstract"] or "", row["source"], row["version"])


@dataclass(frozen=True)
class DocExtraction:
    doc_id: str
    mentions: tuple[Mention, ...]
    assertions: tuple[ExtractedAssertion, ...]
    concepts: frozenset[tuple[str, str]] = field(default_factory=frozenset)  # (type, id) of every linked id, composites included
    sentences: tuple[tuple[int, int], ...] = ()  # character spans of the document's sentences


class Extractor:
    """Runs the whole extraction for batches of documents."""

    def __init__(self, tagger: Tagger, normaliser: Normaliser, *, phenotypes: Normaliser | None = None,
                 relation_threshold: float | None = None, consistent: bool = False,
                 recall: Tagger | None = None, relations: Any = None) -> None:
        self.tagger = tagger
        # a high-precision dictionary (training/lexicon.py's precise names): its matches that no
        # tagged span touches are added; the tagger misses some names it saw in training
        self.recall = recall
        # one-sense-per-document propagation: off by default, it cost 1.1 F1 on BC5CDR dev (bench/results)
        self.consistent = consistent
        self.normaliser = normaliser
        self.phenotypes = phenotypes
        self.relation_threshold = relation_threshold
        # the relation step (nlp/relation_stage.py): the relation champion; None = the cue-word scorer
        self.relations = relations
        self.version = tagger.version if relations is None else f"{tagger.version}+{relations.version}"

    def extract(self, docs: list[SourceDoc], progress: Any = None) -> list[DocExtraction]:
        texts = [d.text for d in docs]
        analysed = analyse(texts)
        spans = self.tagger.predict(texts, [a[0] for a in analysed], progress=progress)
        out = []
        extra = self.recall.predict(texts) if self.recall is not None else [[] for _ in texts]
        for doc, (sents, abbrs), found, more in zip(docs, analysed, spans, extra, strict=True):
            found = add_unclaimed(found, more)
            abbrs = [*abbrs, *tagged_abbreviations(doc.text, found, abbrs)]
            found = propagate_abbreviations(found, abbrs)
            if self.consistent:
                found = propagate_repeats(doc.text, found)
            out.append(self._one(doc, sents, found, abbrs))
        return out

    def _one(self, doc: SourceDoc, sents: list[tuple[int, int]], spans: list[Span], abbrs: list[Abbreviation]) -> DocExtraction:
        text = doc.text
        links = self.normaliser.link_many([(text[s.start : s.end], s.type) for s in spans])
        # a short form inherits the concept of its long form
        long_of = {(a.start, a.end): (a.long_start, a.long_end) for a in abbrs}
        by_pos = {(s.start, s.end): lk for s, lk in zip(spans, links, strict=True)}
        links = [_inherit(by_pos.get(long_of.get((s.start, s.end), (-1, -1))), lk) for s, lk in zip(spans, links, strict=True)]
        mentions: list[Mention] = []
        linked: list[LinkedSpan] = []
        concepts: set[tuple[str, str]] = set()
        for sp, lk in zip(spans, links, strict=True):
            mention_text = text[sp.start : sp.end]
            mentions.append(Mention(doc.doc_id, sp.start, sp.end, mention_text, sp.type, lk.ids[0] if lk.ids else None,
                                    round(sp.score, 4), self.version))
            linked.append(LinkedSpan(sp.start, sp.end, sp.type, lk.ids))
            concepts.update((sp.type, i) for i in lk.ids)
            if self.phenotypes is not None and sp.type == "Disease":
                hp = self.phenotypes.link(mention_text, "Phenotype")
                if hp.ids and hp.method in ("exact", "normalised"):
                    mentions.append(Mention(doc.doc_id, sp.start, sp.end, mention_text, "Phenotype", hp.ids[0],
                                            round(sp.score * hp.score, 4), self.version))
        if self.relations is not None:
            assertions = self.relations.assertions(doc.doc_id, text, sents, linked, len(doc.title), self.version)
            return DocExtraction(doc.doc_id, tuple(mentions), assertions, frozenset(concepts), tuple(sents))
        kwargs = {} if self.relation_threshold is None else {"threshold": self.relation_threshold}
        rels = extract_relations(text, sents, linked, len(doc.title), **kwargs)
        assertions = tuple(
            ExtractedAssertion(r.chemical_id, "INDUCES", r.disease_id, r.score, doc.doc_id, text[r.start : r.end],
                               r.start, r.end, self.version)
            for r in rels
        )
        return DocExtraction(doc.doc_id, tuple(mentions), assertions, frozenset(concepts), tuple(sents))


def _inherit(long: Link | None, own: Link) -> Link:
    return long if long is not None and long.ids else own


def add_unclaimed(spans: list[Span], candidates: list[Span]) -> list[Span]:
    """The tagger's spans plus each candidate that overlaps none of them."""
    if not candidates:
        return spans
    add = [c for c in candidates if not any(c.start < s.end and s.start < c.end for s in spans)]
    return sorted([*spans, *add], key=lambda s: (s.start, s.end))


def propagate_repeats(text: str, spans: list[Span], min_chars: int = 3) -> list[Span]:
    """Tag every other whole-word occurrence of a tagged string the same way (one sense per document)."""
    import re

    taken = [(s.start, s.end) for s in spans]
    added: list[Span] = []
    for surface, sp in {text[s.start : s.end]: s for s in spans if s.end - s.start >= min_chars}.items():
        for m in re.finditer(r"(?<!\w)" + re.escape(surface) + r"(?!\w)", text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            taken.append((m.start(), m.end()))
            added.append(Span(m.start(), m.end(), sp.type, sp.score))
    return sorted([*spans, *added], key=lambda s: (s.start, s.end))


def propagate_abbreviations(spans: list[Span], abbrs: list[Abbreviation]) -> list[Span]:
    """A short form takes the type of its tagged long form; an untagged short form gets a span too."""
    by_pos = {(s.start, s.end): s for s in spans}
    out = {(s.start, s.end): s for s in spans}
    for a in abbrs:
        long = by_pos.get((a.long_start, a.long_end))
        if long is None:
            long = next((s for s in spans if s.start <= a.long_start and s.end >= a.long_end - 1 and s.end > a.long_start), None)
        if long is None:
            continue
        short = out.get((a.start, a.end))
        out[(a.start, a.end)] = Span(a.start, a.end, long.type, short.score if short else long.score)
    # drop spans overlapping a propagated short form (keep the abbreviation's exact span)
    result = sorted(out.values(), key=lambda s: (s.start, -s.end))
    kept: list[Span] = []
    for s in result:
        if kept and s.start < kept[-1].end:
            continue
        kept.append(s)
    return kept
