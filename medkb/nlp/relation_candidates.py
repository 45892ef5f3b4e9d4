"""Document-level chemical–disease candidates: every (chemical concept, disease concept) pair.

A candidate is a pair of normalised concepts of one document with all their mentions (a composite
mention counts for each of its ids) and the sentences where both occur; a pair that never shares a
sentence is still a candidate (about 30 % of BC5CDR's CID pairs are cross-sentence). A document with
no chemical or no disease has no candidates. Hypernym filtering (Gu et al. 2017, BioCreative V) uses
the MeSH tree: a disease that is a tree ancestor of another disease paired with the same chemical.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from medkb.nlp.relations import LinkedSpan


@dataclass(frozen=True)
class Candidate:
    """One (chemical, disease) concept pair of a document."""

    chemical_id: str
    disease_id: str
    chemical_mentions: tuple[int, ...]  # indices into DocCandidates.mentions
    disease_mentions: tuple[int, ...]
    sentences: tuple[int, ...]  # indices of the sentences holding a mention of each; () = cross-sentence
    distance: int  # fewest sentences between a chemical and a disease mention (0 = same sentence)

    @property
    def intra(self) -> bool:
        return bool(self.sentences)


@dataclass(frozen=True)
class DocCandidates:
    """A document's mentions, sentences and candidate pairs: the relation model's input."""

    doc_id: str
    text: str
    sentences: tuple[tuple[int, int], ...]
    mentions: tuple[LinkedSpan, ...]  # linked Chemical/Disease mentions only
    mention_sentence: tuple[int, ...]  # sentence index of each mention
    candidates: tuple[Candidate, ...]
    title_end: int = 0

    def features(self, c: Candidate) -> list[float]:
        """Cheap pair features the classifier sees next to the encoder's vectors."""
        import math

        in_title = [any(self.mentions[m].end <= self.title_end for m in ms) for ms in (c.chemical_mentions, c.disease_mentions)]
        return [float(c.intra), min(c.distance, 10) / 10.0, math.log1p(len(c.chemical_mentions)),
                math.log1p(len(c.disease_mentions)), float(in_title[0]), float(in_title[1])]


N_FEATURES = 6


def sentence_of(sentences: list[tuple[int, int]] | tuple[tuple[int, int], ...], start: int) -> int:
    """Index of the sentence holding character `start` (the last sentence starting at or before it)."""
    starts = [s for s, _ in sentences]
    return max(0, bisect.bisect_right(starts, start) - 1)


def doc_candidates(doc_id: str, text: str, sentences: Iterable[tuple[int, int]], spans: Iterable[LinkedSpan],
                   title_end: int = 0) -> DocCandidates:
    """Every chemical/disease concept pair of one document (no error and no pair without both types)."""
    sents = tuple(sorted(sentences)) or ((0, len(text)),)
    mentions = tuple(sorted((s for s in spans if s.ids and s.type in ("Chemical", "Disease")), key=lambda s: (s.start, s.end)))
    msent = tuple(sentence_of(sents, m.start) for m in mentions)
    by_concept: dict[tuple[str, str], list[int]] = {}
    for i, m in enumerate(mentions):
        for cid in dict.fromkeys(m.ids):
            by_concept.setdefault((m.type, cid), []).append(i)
    chems = sorted((cid, ms) for (t, cid), ms in by_concept.items() if t == "Chemical")
    diss = sorted((cid, ms) for (t, cid), ms in by_concept.items() if t == "Disease")
    out = []
    for c, cm in chems:
        cs = {msent[i] for i in cm}
        for d, dm in diss:
            if c == d:
                continue
            ds = {msent[i] for i in dm}
            shared = tuple(sorted(cs & ds))
            dist = min(abs(a - b) for a in cs for b in ds)
            out.append(Candidate(c, d, tuple(cm), tuple(dm), shared, dist))
    return DocCandidates(doc_id, text, sents, mentions, msent, tuple(out), title_end)


class MeshTree:
    """Ancestors of MeSH descriptors from their tree numbers (C04.588.033 is under C04.588 and C04)."""

    def __init__(self, trees: dict[str, tuple[str, ...]]) -> None:
        self.trees = trees
        self.owner = {t: cid for cid, ts in trees.items() for t in ts}

    @classmethod
    def from_descriptors(cls, path: Path | str) -> MeshTree:
        """From the MeSH descriptor table (medkb.sources.mesh.fetch_mesh_files), ids as CURIEs."""
        from medkb.sources.mesh import read_mesh

        desc = Path(path)
        trees = {}
        for c in read_mesh(desc, desc.with_name("mesh_supplementary.tsv")):
            if c.tree_numbers:
                trees[f"MESH:{c.id}"] = c.tree_numbers
        return cls(trees)

    def ancestors(self, cid: str) -> frozenset[str]:
        out = set()
        for t in self.trees.get(cid, ()):
            parts = t.split(".")
            for k in range(1, len(parts)):
                owner = self.owner.get(".".join(parts[:k]))
                if owner and owner != cid:
                    out.add(owner)
        return frozenset(out)


@lru_cache(maxsize=2)
def mesh_tree(data_dir: str) -> MeshTree | None:
    """The MeSH tree from <data_dir>/ontologies (fetched once); None when MeSH is unreachable."""
    from medkb.sources.mesh import fetch_mesh_files
    from medkb.sources.ontologies import OntologyError

    try:
        files = fetch_mesh_files(Path(data_dir))
    except OntologyError:
        return None
    return MeshTree.from_descriptors(files["mesh_descriptors.tsv"])


def hypernym_negatives(pairs: Iterable[tuple[str, str]], positives: set[tuple[str, str]], tree: MeshTree) -> set[tuple[str, str]]:
    """The pairs (chemical, disease) whose disease is a MeSH ancestor of a disease in `positives` for the
    same chemical: BioCreative V drops them from the negatives (training) and from the output."""
    anc: dict[str, set[str]] = {}
    for c, d in positives:
        anc.setdefault(c, set()).update(tree.ancestors(d))
    return {(c, d) for c, d in pairs if (c, d) not in positives and d in anc.get(c, ())}
