"""Mention → concept id: exact, then normalised-string match, then character 3-gram similarity.

Composite mentions ("breast and ovarian cancer") are split into their parts first. A mention still
unlinked is tried in American spelling ("oedema", "anaemia": MeSH spells them edema, anemia), then
by its head: leading words dropped one at a time ("advanced ovarian cancer" → "ovarian cancer"),
exact or normalised matches only, never down to a lone generic noun ("adenovirus disease" is not
Disease). On BC5CDR dev this finds both concepts of 723 gold CID pairs instead of 695. A mention
with no confident id keeps its text and is marked unlinked (no ids). Gold-lexicon entries win
over package vocabularies, and within one source the most frequent id for a string wins.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from medkb.nlp.vocab import Entry, norm

# For one string, the gold lexicon's id wins over MeSH's own entry terms, which win over the NER
# packages' ids.
SOURCE_RANK = {"gold": 0, "mesh": 1, "mesh-disease": 2, "mesh-drug": 2, "hpo": 2}
# How far an id from each source is trusted, measured on BC5CDR+NCBI train names: the disease
# package's MeSH ids agree with the gold id for 57 % of shared names, the drug package's for 10 %
# (its ids are mostly pharmacological classes), so only a bridged drug id is a confident link.
# MeSH's own tables (sources/mesh.py) are the ids the corpora use.
SOURCE_TRUST = {"gold": 1.0, "hpo": 1.0, "bridged": 1.0, "mesh": 1.0, "mesh-disease": 0.75, "mesh-drug": 0.4}
BRIDGED_SOURCES = ("mesh-disease", "mesh-drug")  # sources whose ids are re-mapped to gold ids
LINK_CACHE_SIZE = 200_000  # (text, type) → Link, kept across documents; cleared when full
_WHITE_SPACES = re.compile(r"\s\s+")  # as sklearn's VectorizerMixin
# British → American spellings of medical words (query side only: the index is left as built)
_AMERICAN = tuple((re.compile(a, re.I), b) for a, b in (
    (r"(?<=[a-z])aem", "em"), (r"\boe(?=d|s)", "e"), (r"rrhoea", "rrhea"), (r"tumour", "tumor"), (r"\bpaed", "ped"),
    (r"\bfoet", "fet"), (r"colour", "color")))
# heads too general to stand for a longer mention ("pulmonary toxicity" is not Toxicity)
GENERIC_HEADS = frozenset({"disease", "diseases", "disorder", "disorders", "syndrome", "injury", "injuries", "damage",
                           "toxicity", "infection", "infections", "inflammation", "lesion", "lesions", "dysfunction",
                           "acid", "acids", "salt", "salts", "sodium", "nitrogen", "hyperactivity", "pain", "cancer"})
HEAD_PENALTY = 0.9  # a head match scores below the mention's own exact match
_COMPOSITE = re.compile(r"\s*(?:,\s*(?:and|or)?|\band\b|\bor\b|\band/or\b|/)\s*", re.I)


@dataclass(frozen=True)
class Link:
    ids: tuple[str, ...]  # empty = unlinked
    score: float
    method: str  # exact | normalised | ngram | composite | unlinked


class Normaliser:
    """Links typed mention texts to concept ids from a set of vocabulary entries."""

    def __init__(self, entries: Iterable[Entry], *, min_similarity: float = 0.8, min_score: float = 0.7) -> None:
        self.min_similarity = min_similarity
        self.min_score = min_score
        entries = [e for e in entries if e.concept_id]
        bridge = _bridges(entries)
        exact: dict[tuple[str, str], Counter] = defaultdict(Counter)
        normed: dict[tuple[str, str], Counter] = defaultdict(Counter)
        trust: dict[str, float] = {}
        for e in entries:
            cid = bridge.get((e.source, e.concept_id), e.concept_id)
            src = "bridged" if (e.source, e.concept_id) in bridge else e.source
            trust[cid] = max(trust.get(cid, 0.0), SOURCE_TRUST.get(src, 0.6))
            weight = 10 ** (3 - SOURCE_RANK.get(e.source, 3))
            exact[(e.type, e.name.lower())][cid] += weight
            key = norm(e.name)
            if key:
                normed[(e.type, key)][cid] += weight
        self.exact = {k: c.most_common(1)[0][0] for k, c in exact.items()}
        self.normed = {k: c.most_common(1)[0][0] for k, c in normed.items()}
        self.trust = trust
        self._index: dict[str, Any] = {}
        self._links: dict[tuple[str, str], Link] = {}
        # set by the caller (nlp/serving.py): (type, build) → the type's n-gram index, e.g. read
        # from the on-disk cache (nlp/build_cache.py); None builds it here
        self.index_cache: Callable[[str, Callable[[], Any]], Any] | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (the on-disk cache) without the per-process link cache, n-gram indexes and hook."""
        return {**self.__dict__, "_index": {}, "_links": {}, "index_cache": None}

    def _ngram_index(self, typ: str) -> Any:
        if typ not in self._index:
            build = lambda: self._build_ngram_index(typ)  # noqa: E731
            self._index[typ] = build() if self.index_cache is None else self.index_cache(typ, build)
        return self._index[typ]

    def _build_ngram_index(self, typ: str) -> Any:
        import numpy as np
        from sklearn.feature_extraction.text import TfidfVectorizer

        names = [k for (t, k) in self.normed if t == typ]
        if not names:
            return None
        vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), dtype=np.float32)
        # stored transposed (n-gram → names, CSR): a query then reads only the postings of its
        # own ~20 n-grams, where names × n-grams @ query scanned all ~100k names per mention
        postings = vec.fit_transform(names).T.tocsr()
        return (_QueryVectoriser(vec), postings, [self.normed[(typ, n)] for n in names])

    def link(self, text: str, typ: str) -> Link:
        """The concept ids of one mention of type `typ` (Chemical, Disease or Phenotype).

        The score is the match score times the trust in the id's source; below `min_score` the
        mention is unlinked.
        """
        found = self._link(text, typ)
        if not found.ids:
            return found
        score = found.score * min(self.trust.get(i, 0.6) for i in found.ids)
        if score < self.min_score:
            return Link((), round(score, 3), "unlinked")
        return Link(found.ids, round(score, 3), found.method)

    def _link(self, text: str, typ: str) -> Link:
        one = self._link_one(text, typ, fuzzy=False)
        if one.ids:
            return one
        parts = split_composite(text)
        if len(parts) > 1:
            links = [self._link_one(p, typ, fuzzy=True) for p in parts]
            ids = tuple(dict.fromkeys(i for lk in links for i in lk.ids))
            if ids:
                return Link(ids, min(lk.score for lk in links if lk.ids), "composite")
        found = self._link_one(text, typ, fuzzy=True)
        if found.ids:
            return found
        us = american(text)
        if us != text:
            found = self._link_one(us, typ, fuzzy=True)
            if found.ids:
                return found
        return self._head(us, typ) or found

    def _head(self, text: str, typ: str) -> Link | None:
        words = text.split()
        for k in range(1, len(words)):
            if k == len(words) - 1 and words[-1].lower() in GENERIC_HEADS:
                break
            one = self._link_one(" ".join(words[k:]), typ, fuzzy=False)
            if one.ids:
                return Link(one.ids, one.score * HEAD_PENALTY, "head")
        return None

    def link_many(self, items: list[tuple[str, str]]) -> list[Link]:
        """Link many (text, type) pairs; a pair seen before (in any call) is not linked again."""
        out = []
        for it in items:
            hit = self._links.get(it)
            if hit is None:
                if len(self._links) >= LINK_CACHE_SIZE:
                    self._links.clear()
                hit = self._links[it] = self.link(*it)
            out.append(hit)
        return out

    def _link_one(self, text: str, typ: str, *, fuzzy: bool) -> Link:
        hit = self.exact.get((typ, text.lower()))
        if hit:
            return Link((hit,), 1.0, "exact")
        key = norm(text)
        hit = self.normed.get((typ, key))
        if hit:
            return Link((hit,), 0.95, "normalised")
        if fuzzy and len(key) >= 4:
            index = self._ngram_index(typ)
            if index is not None:
                vec, postings, ids = index
                query = vec(key)
                if query is None:
                    return Link((), 0.0, "unlinked")
                sims = (query @ postings).toarray().ravel()
                best = int(sims.argmax())
                if sims[best] >= self.min_similarity:
                    return Link((ids[best],), float(sims[best]), "ngram")
        return Link((), 0.0, "unlinked")


class _QueryVectoriser:
    """TfidfVectorizer.transform for one short string, without sklearn's per-call validation
    (about 1 ms a call, most of the linking time): the same analyser, idf weights and l2 norm.

    It keeps no sklearn object, so a pickled index (nlp/build_cache.py) loads without importing
    sklearn (1-3 s in a new process)."""

    def __init__(self, vec: Any) -> None:
        assert vec.analyzer == "char_wb" and vec.ngram_range == (3, 3) and vec.lowercase and not vec.strip_accents
        self.vocabulary = vec.vocabulary_
        self.idf = vec.idf_
        self.width = len(self.vocabulary)

    @staticmethod
    def analyse(text: str) -> list[str]:
        """sklearn's char_wb analyser for ngram_range=(3, 3): lower case, each word padded with a space."""
        grams = []
        for w in _WHITE_SPACES.sub(" ", text.lower()).split():
            w = f" {w} "
            grams.extend(w[i : i + 3] for i in range(max(len(w) - 2, 1)))
        return grams

    def __call__(self, text: str) -> Any:
        import numpy as np
        from scipy.sparse import csr_matrix

        counts = Counter(i for g in self.analyse(text) if (i := self.vocabulary.get(g)) is not None)
        if not counts:
            return None
        idx = np.fromiter(sorted(counts), dtype=np.int64, count=len(counts))
        weights = np.array([counts[i] for i in idx], dtype=np.float32) * self.idf[idx]
        weights /= np.linalg.norm(weights)
        return csr_matrix((weights, idx, [0, len(idx)]), shape=(1, self.width))


def _bridges(entries: list[Entry]) -> dict[tuple[str, str], str]:
    """Map a vocabulary concept to the gold id its synonyms carry in the gold lexicon.

    The MeSH ids shipped in the NER packages agree with the corpora's ids for only about a quarter
    of the names (measured on BC5CDR train), but their synonym groups are sound: when any synonym
    of a package concept is a gold mention, the whole group takes that gold id (if all agree).
    """
    gold: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for e in entries:
        if e.source == "gold":
            gold[(e.type, norm(e.name))][e.concept_id] += 1
    votes: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for e in entries:
        if e.source in BRIDGED_SOURCES:
            hit = gold.get((e.type, norm(e.name)))
            if hit:
                votes[(e.source, e.concept_id)].update(hit)
    # only a unanimous bridge: a package id shared by names with different gold ids is a class
    return {k: next(iter(c)) for k, c in votes.items() if len(c) == 1}


def american(text: str) -> str:
    """'oedema' → 'edema', 'haemorrhagic' → 'hemorrhagic', 'leukaemia' → 'leukemia'; others unchanged."""
    for rx, rep in _AMERICAN:
        text = rx.sub(rep, text)
    return text


def split_composite(text: str) -> list[str]:
    """'breast and ovarian cancer' → ['breast cancer', 'ovarian cancer']; others unchanged."""
    parts = [p for p in _COMPOSITE.split(text) if p and p.strip()]
    if len(parts) < 2:
        return [text]
    last = parts[-1].split()
    head = " ".join(last[1:]) if len(last) > 1 else ""
    out = []
    for p in parts[:-1]:
        words = p.split()
        out.append(f"{p} {head}".strip() if head and len(words) <= 2 else p)
    out.append(parts[-1])
    return out
