"""What phenotype ranking precomputes from the graph: diseases × terms as sparse matrices.

Built once per graph state (HPO terms, IS_A, OMIM diseases' HAS_PHENOTYPE edges with their
`frequency` and `references`), cached on disk under a key made from the graph's Run nodes, so the
CLI and the benchmark do not rebuild it per case.

The default model (a per-disease mixture, see ranking.py): `M[d, q]` is the chance that one term
reported for a patient with d is q: each annotation t of d is picked in proportion to its
frequency (f_t / Σ f) and reported as itself (`rho`) or, imprecisely, as an ancestor (1 − rho,
spread over the parents of each step and multiplied by `step` for every step beyond the first);
`mbg[q]` is its mean over all diseases. The earlier model (`model="lr"` in ranking.py) uses
`P[d, a]`, the chance that a patient with d shows a or something more specific (a noisy-or of the
annotation frequencies at and below a; `max` takes the highest instead), `bg[a]` the same chance
for a random disease, and `R[d, a] = P[d, a] / bg[a]`; excluded terms are scored from P and bg in
both models.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import pickle
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from medkb.kb.client import GraphClient

log = logging.getLogger(__name__)

ROOT = "HP:0000118"  # Phenotypic abnormality: only its descendants are scored
INDEX_FORMAT = 5  # bump when the pickled layout or the model changes
MAX_FREQUENCY = 0.999  # noisy-or: an obligate feature still leaves room for a missed observation
PROPAGATIONS = ("max", "noisy_or")
BIG_COLUMN = 200  # a term annotated (with descendants) to more diseases than this has its max cached
RHO = 0.5  # mixture: chance that a feature is reported as its annotated term (else as an ancestor)
STEP = 0.5  # mixture: weight of each step up the ontology beyond the first (the parent)

# HPO frequency classes (HP:0040279 subtree) -> the midpoint of their range.
FREQUENCY_CLASSES = {
    "HP:0040280": 1.0,    # obligate, 100 %
    "HP:0040281": 0.895,  # very frequent, 80-99 %
    "HP:0040282": 0.545,  # frequent, 30-79 %
    "HP:0040283": 0.17,   # occasional, 5-29 %
    "HP:0040284": 0.025,  # very rare, 1-4 %
    "HP:0040285": 0.0,    # excluded, 0 %
}


class PhenotypeIndexError(RuntimeError):
    """The graph holds no HPO annotations (not seeded?) or a cache file is unusable."""


def parse_frequency(text: str, default: float) -> float:
    """'HP:0040281', '3/7', '45%' or '' -> a probability."""
    text = (text or "").strip()
    if not text:
        return default
    if text in FREQUENCY_CLASSES:
        return FREQUENCY_CLASSES[text]
    try:
        if text.endswith("%"):
            return min(1.0, max(0.0, float(text[:-1]) / 100))
        if "/" in text:
            num, den = text.split("/", 1)
            return min(1.0, max(0.0, float(num) / float(den))) if float(den) > 0 else default
    except ValueError:
        pass
    return default


@dataclass(frozen=True)
class Annotation:
    """One HAS_PHENOTYPE edge as the index reads it."""

    disease_id: str
    hpo_id: str
    frequency: str
    references: tuple[str, ...]


@dataclass(frozen=True)
class IndexInputs:
    """The graph facts the index is built from (also buildable from hp.obo/phenotype.hpoa in tests)."""

    terms: Mapping[str, str]  # id -> label
    parents: Mapping[str, Sequence[str]]  # id -> is_a parents
    diseases: Mapping[str, str]  # OMIM id -> label
    annotations: Sequence[Annotation]
    replaced: Mapping[str, str] = field(default_factory=dict)  # alt/obsolete id -> live id
    key: str = ""


@dataclass
class PhenotypeIndex:
    """Sparse matrices over diseases × terms plus the per-disease annotation lists."""

    key: str
    term_ids: list[str]
    term_labels: list[str]
    term_pos: dict[str, int]
    ancestors: list[np.ndarray]  # per term: itself and its ancestors under ROOT (ROOT excluded)
    parents: list[np.ndarray]  # per term: its direct is_a parents under ROOT
    scored: np.ndarray  # bool per term: a descendant of ROOT
    disease_ids: list[str]
    disease_labels: list[str]
    ann_terms: list[np.ndarray]  # per disease: annotated term indices
    ann_freq: list[np.ndarray]  # per disease: their frequencies
    ann_refs: list[list[tuple[str, ...]]]  # per disease: each annotation's references
    ref_diseases: dict[str, set[int]]  # reference -> diseases with an annotation citing it
    bg: np.ndarray  # per term: mean over diseases of P[d, term]
    R: sp.csc_matrix  # diseases × terms, P / bg
    P: sp.csc_matrix  # diseases × terms, P
    replaced: dict[str, str]
    default_frequency: float
    propagation: str = "noisy_or"  # max | noisy_or
    big: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # columns worth caching
    memo: dict[Any, Any] = field(default_factory=dict, repr=False)  # ranking's per-process cache
    rho: float = RHO
    step: float = STEP
    M: sp.csc_matrix | None = None  # diseases × terms: the mixture, chance one reported term is q
    mbg: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per term: mean of M over diseases

    @property
    def n_diseases(self) -> int:
        return len(self.disease_ids)

    def resolve(self, hpo_id: str) -> tuple[int | None, str]:
        """(term index or None, status ok/replaced/unknown) for an id from a case."""
        if hpo_id in self.term_pos:
            return self.term_pos[hpo_id], "ok"
        if hpo_id in self.replaced and self.replaced[hpo_id] in self.term_pos:
            return self.term_pos[self.replaced[hpo_id]], "replaced"
        return None, "unknown"

    def propagate(self, terms: np.ndarray, freqs: np.ndarray) -> dict[int, float]:
        """P[d, ·] for one disease's annotations, pushed to their ancestors: the best frequency
        (`max`), or the chance of at least one of them, as if independent (`noisy_or`)."""
        out: dict[int, float] = {}
        if self.propagation == "noisy_or":
            for t, f in zip(terms.tolist(), freqs.tolist(), strict=True):
                miss = math.log1p(-min(f, MAX_FREQUENCY))
                for a in self.ancestors[t].tolist():
                    out[a] = out.get(a, 0.0) + miss
            return {a: -math.expm1(v) for a, v in out.items()}
        for t, f in zip(terms.tolist(), freqs.tolist(), strict=True):
            for a in self.ancestors[t].tolist():
                if out.get(a, -1.0) < f:
                    out[a] = f
        return out


    def kernel(self, t: int) -> dict[int, float]:
        """K(t, a): the chance that feature t is reported as a (itself: rho; an ancestor: 1 − rho times
        the best path's product of 1/(number of parents) per step, and `step` per step beyond the first)."""
        memo = self.memo.setdefault(("kernel", self.rho, self.step), {})
        k = memo.get(t)
        if k is not None:
            return k
        w = {t: 1.0}
        frontier = [t]
        while frontier:
            nxt = []
            for c in frontier:
                par = self.parents[c]
                if not len(par):
                    continue
                s = w[c] / len(par) * (self.step if c != t else 1.0)
                for p in par.tolist():
                    if s > w.get(p, 0.0) + 1e-15:
                        w[p] = s
                        nxt.append(p)
            frontier = nxt
        k = memo[t] = {a: (self.rho if a == t else (1 - self.rho) * v) for a, v in w.items()}
        return k

    def mixture_row(self, terms: np.ndarray, freqs: np.ndarray) -> dict[int, float]:
        """M[d, ·] for one disease's annotations: Σ_t f_t / Σ f · K(t, ·)."""
        return self.mixture_row_explained(terms, freqs)[0]

    def mixture_row_explained(self, terms: np.ndarray,
                              freqs: np.ndarray) -> tuple[dict[int, float], dict[int, tuple[float, int]]]:
        """(M[d, ·], for each term the annotation that adds the most to it: (its share, its index))."""
        out: dict[int, float] = {}
        best: dict[int, tuple[float, int]] = {}
        total = float(freqs.sum())
        if total <= 0:
            return out, best
        for t, f in zip(terms.tolist(), freqs.tolist(), strict=True):
            for a, k in self.kernel(t).items():
                v = f / total * k
                out[a] = out.get(a, 0.0) + v
                if v > best.get(a, (-1.0, 0))[0]:
                    best[a] = (v, t)
        return out, best


def build_index(inputs: IndexInputs, default_frequency: float = 0.5, propagation: str = "noisy_or") -> PhenotypeIndex:
    """Precompute the matrices; seconds for all of HPO and OMIM."""
    term_ids = sorted(inputs.terms)
    pos = {t: i for i, t in enumerate(term_ids)}
    if ROOT not in pos:
        raise PhenotypeIndexError(f"the graph has no {ROOT} (Phenotypic abnormality); run `medkb kb seed`")
    ancestors, scored = _ancestor_lists(term_ids, pos, inputs.parents)
    by_disease: dict[str, dict[int, tuple[float, tuple[str, ...]]]] = defaultdict(dict)
    for a in inputs.annotations:
        t = pos.get(a.hpo_id)
        if t is None or not scored[t] or a.disease_id not in inputs.diseases:
            continue
        f = parse_frequency(a.frequency, default_frequency)
        if f <= 0:
            continue
        prev = by_disease[a.disease_id].get(t)
        refs = tuple(sorted(set(a.references) | set(prev[1] if prev else ())))
        by_disease[a.disease_id][t] = (max(f, prev[0] if prev else 0.0), refs)
    disease_ids = sorted(by_disease)
    if not disease_ids:
        raise PhenotypeIndexError("no OMIM disease has a HAS_PHENOTYPE annotation in the graph; "
                                  "run `medkb kb seed` (part hpo) first")
    ann_terms, ann_freq, ann_refs = [], [], []
    ref_diseases: dict[str, set[int]] = defaultdict(set)
    for d, did in enumerate(disease_ids):
        items = sorted(by_disease[did].items())
        ann_terms.append(np.array([t for t, _ in items], dtype=np.int32))
        ann_freq.append(np.array([v[0] for _, v in items], dtype=np.float64))
        ann_refs.append([v[1] for _, v in items])
        for _, (_, refs) in items:
            for r in refs:
                ref_diseases[r].add(d)
    index = PhenotypeIndex(
        key=inputs.key, term_ids=term_ids, term_labels=[inputs.terms[t] for t in term_ids], term_pos=pos,
        ancestors=ancestors, parents=[
            np.array([pos[p] for p in inputs.parents.get(t, ()) if p in pos and scored[pos[p]]], dtype=np.int32)
            for t in term_ids], scored=scored, disease_ids=disease_ids,
        disease_labels=[inputs.diseases[d] for d in disease_ids], ann_terms=ann_terms, ann_freq=ann_freq,
        ann_refs=ann_refs, ref_diseases=dict(ref_diseases), bg=np.zeros(len(term_ids)),
        R=sp.csc_matrix((len(disease_ids), len(term_ids))), P=sp.csc_matrix((len(disease_ids), len(term_ids))),
        replaced={k: v for k, v in inputs.replaced.items() if v in pos}, default_frequency=default_frequency,
        propagation=propagation,
    )
    return compute_matrices(index)


def _disease_matrix(index: PhenotypeIndex, row_of: Callable[[Any, Any], dict[int, float]]) -> Any:
    """Diseases × terms (CSC) with row d = `row_of(d's annotated terms, their frequencies)`."""
    rows, cols, vals = [], [], []
    for d in range(index.n_diseases):
        row = row_of(index.ann_terms[d], index.ann_freq[d])
        rows.extend([d] * len(row))
        cols.extend(row.keys())
        vals.extend(row.values())
    return sp.csc_matrix((np.array(vals), (np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64))),
                         shape=(index.n_diseases, len(index.term_ids)))


def compute_matrices(index: PhenotypeIndex) -> PhenotypeIndex:
    """P, bg, R from the per-disease annotation lists (again after changing `propagation`)."""
    if index.propagation not in PROPAGATIONS:
        raise PhenotypeIndexError(f"propagation {index.propagation!r}: use one of {PROPAGATIONS}")
    index.memo.clear()  # the mixture's kernels are recomputed for the current parameters
    n_d = index.n_diseases
    P = _disease_matrix(index, index.propagate)
    bg = np.asarray(P.sum(axis=0)).ravel() / n_d
    R = P.copy()
    R.data = R.data / bg[_col_of(R)]
    index.P, index.R, index.bg = P, R, bg
    index.big = np.diff(R.indptr) > BIG_COLUMN
    index.M = _disease_matrix(index, index.mixture_row)
    index.mbg = np.asarray(index.M.sum(axis=0)).ravel() / n_d
    index.memo.clear()
    return index


def _col_of(m: sp.csc_matrix) -> np.ndarray:
    """The column of every stored value of a CSC matrix."""
    return np.repeat(np.arange(m.shape[1]), np.diff(m.indptr))


def _ancestor_lists(term_ids: list[str], pos: dict[str, int],
                    parents: Mapping[str, Sequence[str]]) -> tuple[list[np.ndarray], np.ndarray]:
    memo: dict[int, frozenset[int]] = {}

    def up(t: int) -> frozenset[int]:
        if t in memo:
            return memo[t]
        memo[t] = frozenset({t})  # guards against a cycle in a damaged ontology
        out = {t}
        for p in parents.get(term_ids[t], ()):
            if p in pos:
                out |= up(pos[p])
        memo[t] = frozenset(out)
        return memo[t]

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    root = pos[ROOT]
    lists, scored = [], np.zeros(len(term_ids), dtype=bool)
    for t in range(len(term_ids)):
        anc = up(t)
        scored[t] = root in anc and t != root
        lists.append(np.array(sorted(a for a in anc if a != root and root in up(a)), dtype=np.int32))
    return lists, scored


# ---- reading the graph -------------------------------------------------------------------------

_TERMS = ("MATCH (p:Phenotype) WHERE p.id STARTS WITH 'HP:' "
          "OPTIONAL MATCH (p)-[:IS_A]->(q:Phenotype) "
          "RETURN p.id AS id, p.name AS name, p.alt_ids AS alt_ids, collect(q.id) AS parents")
_ANNOTATIONS = ("MATCH (d:Disease)-[e:HAS_PHENOTYPE]->(p:Phenotype) WHERE d.id STARTS WITH 'OMIM:' "
                "AND coalesce(e.aspect, 'P') = 'P' "
                "RETURN d.id AS disease, d.name AS name, p.id AS hpo, e.frequency AS frequency, "
                "e.references AS refs")
_RUNS = "MATCH (r:Run) RETURN r.id AS id, properties(r) AS props ORDER BY r.id"
_COUNTS = ("MATCH (:Disease)-[e:HAS_PHENOTYPE]->() WITH count(e) AS n "
           "MATCH (:Phenotype)-[i:IS_A]->() RETURN n, count(i) AS isa")


def graph_key(client: GraphClient) -> str:
    """Changes whenever a run is added, rolled back or updated, or the annotations change size."""
    runs = client.read(_RUNS)
    counts = client.read(_COUNTS)
    body = json.dumps({"runs": runs, "counts": counts, "format": INDEX_FORMAT}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:20]


def read_inputs(client: GraphClient, key: str = "") -> IndexInputs:
    terms, parents, replaced = {}, {}, {}
    for r in client.read(_TERMS):
        terms[r["id"]] = r["name"] or r["id"]
        parents[r["id"]] = tuple(r["parents"])
        for alt in r["alt_ids"] or []:
            replaced[alt] = r["id"]
    diseases, annotations = {}, []
    for r in client.read(_ANNOTATIONS):
        diseases[r["disease"]] = r["name"] or r["disease"]
        annotations.append(Annotation(r["disease"], r["hpo"], r["frequency"] or "", tuple(r["refs"] or ())))
    return IndexInputs(terms, parents, diseases, annotations, replaced, key)


def load_index(client: GraphClient, cache_dir: Path | None = None, *,
               replaced: Mapping[str, str] | None = None, default_frequency: float = 0.5,
               propagation: str = "noisy_or") -> PhenotypeIndex:
    """The index for the graph's current state; with `cache_dir`, read from or written to
    `phenotype-index-<graph key>.pkl` there. `replaced` adds obsolete-id replacements (from hp.obo)."""
    key = graph_key(client)
    name = f"phenotype-index-{key}-f{default_frequency:g}-{propagation}.pkl"
    path = cache_dir / name if cache_dir else None
    if path is not None and path.exists():
        try:
            with path.open("rb") as fh:
                index: PhenotypeIndex = pickle.load(fh)  # noqa: S301 (our own cache file)
            if index.key == key:
                return index
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as exc:
            log.warning("phenotype index cache %s unusable (%s); rebuilding", path.name, exc)
    inputs = read_inputs(client, key)
    if replaced:
        inputs = IndexInputs(inputs.terms, inputs.parents, inputs.diseases, inputs.annotations,
                             {**replaced, **inputs.replaced}, key)
    index = build_index(inputs, default_frequency, propagation)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        index.memo.clear()
        with tmp.open("wb") as fh:
            pickle.dump(index, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
    return index


def obsolete_replacements(data_dir: Path) -> dict[str, str]:
    """Obsolete/alternative HPO id -> current id, from hp.obo (the graph keeps live terms only)."""
    from medkb.sources.hpo_ids import read_hpo_id_map
    from medkb.sources.ontologies import fetch_hpo_files

    return dict(read_hpo_id_map(fetch_hpo_files(data_dir)["hp.obo"]).replaced)


def inputs_from_files(obo_terms: Iterable[Any], hpoa_rows: Iterable[Any], replaced: Mapping[str, str]) -> IndexInputs:
    """The same inputs from hp.obo/phenotype.hpoa records (medkb.sources.ontologies), for tests."""
    terms, parents = {}, {}
    for t in obo_terms:
        terms[t.id] = t.name
        parents[t.id] = t.parents
    diseases: dict[str, str] = {}
    grouped: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for a in hpoa_rows:
        if a.negated or not a.disease_id.startswith("OMIM:") or a.aspect != "P":
            continue
        diseases.setdefault(a.disease_id, a.disease_name)
        grouped[(a.disease_id, a.hpo_id)].append(a)
    annotations = []
    for (d, h), rows in grouped.items():
        rows.sort(key=lambda r: (r.reference, r.frequency, r.onset))
        freq = next((r.frequency for r in rows if r.frequency), "")
        annotations.append(Annotation(d, h, freq, tuple(sorted({r.reference for r in rows if r.reference}))))
    return IndexInputs(terms, parents, diseases, annotations, dict(replaced), "files")
