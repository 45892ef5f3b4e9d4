"""Rank every OMIM disease for a case's HPO terms with likelihood ratios.

The default model (`model="mixture"`) treats each reported term as drawn from the disease's
features, in proportion to their frequencies, reported exactly or as an ancestor (M from the
index, phenotype_index.py), or as noise, uniform over the `Phenotypic abnormality` terms (u):

    LR(q, d) = ((1 - nu) * M[d, q] + nu * u) / ((1 - nu) * mbg[q] + nu * u)

A disease's features share one unit of probability, so a disease annotated with many features
explains any one term less (no separate size prior is needed), and a rare term is worth no more
than a common one (what it is worth comes from which diseases have it), so one noise term that a
wrong disease happens to carry costs the right one less. The model before it (`model="lr"`),
LIRICAL-like, for an observed term q and disease d, with P and bg from the index:

    LR(q, d) = alpha + (1 - alpha) * max over a in {q} ∪ ancestors(q) of P[d, a] / bg[a]

i.e. the disease explains q through its most specific annotation sharing an ancestor a with q,
at the frequency it is annotated with, against how common a is among all diseases (a general
ancestor explains little); `alpha` is the chance that a term is noise or not annotated. An
excluded term q counts against the diseases annotated with it or something more specific:

    LR_excluded(q, d) = (1 - (1 - delta) * P[d, q]) / (1 - (1 - delta) * bg[q])

In both, an excluded term q counts against the diseases annotated with it or something more
specific, as above. Scores are sums of log10 LRs (plus the size prior, 0 by default). Ties keep
disease id order. With
`drop_references`, every annotation whose references all lie in that set is left out (the
own-PMID protocol) for the diseases that cite them; bg stays that of the whole annotation set.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from medkb.rules.phenotype_index import PhenotypeIndex

KINDS = ("observed", "excluded", "unmatched")


@dataclass(frozen=True)
class RankingParams:
    model: str = "mixture"  # mixture | lr (the earlier LIRICAL-like model)
    nu: float = 0.4  # mixture: share of a case's terms that are noise (uniform over the scored terms)
    alpha: float = 0.1  # lr: floor of an observed term's LR: noise / missing annotation
    size_prior: float = 0.0  # log10 prior = -size_prior * log10(number of annotations) (lr: 1.5)
    max_ratio: float = math.inf  # lr: cap on P/bg of one term, so one rare (noise) match cannot dominate
    sibling: float = 0.0  # lr: weight of a match through a common ancestor that is not itself annotated
    delta: float = 0.8  # chance that an annotated feature is reported absent anyway (lr: 0.4)
    use_excluded: bool = True
    drop_redundant: bool = False  # drop observed terms that are ancestors of another observed term


DEFAULT_PARAMS = RankingParams()
LR_PARAMS = RankingParams(model="lr", size_prior=1.5, delta=0.4)  # the earlier model's chosen values
MODELS = ("mixture", "lr")


@dataclass(frozen=True)
class TermContribution:
    hpo_id: str
    label: str
    matched_annotation_id: str | None  # the disease's annotated term that explains (or contradicts) it
    contribution: float  # log10 likelihood ratio
    kind: str  # observed | excluded | unmatched


@dataclass(frozen=True)
class RankedDisease:
    disease_id: str
    label: str
    score: float  # log10 prior + the sum of the contributions' log10 likelihood ratios
    rank: int
    contributions: tuple[TermContribution, ...]
    prior: float = 0.0  # log10 prior of the disease (see RankingParams.size_prior)


@dataclass(frozen=True)
class CaseTerms:
    """A case's ids resolved against the index: indices, plus what could not be used and why."""

    observed: tuple[int, ...]
    excluded: tuple[int, ...]
    unknown: tuple[str, ...]  # not in the ontology: reported, not scored
    replaced: tuple[tuple[str, str], ...]  # (old id, current id)
    unscored: tuple[str, ...]  # known but outside Phenotypic abnormality (onset, inheritance ...)


def resolve_terms(index: PhenotypeIndex, observed: Sequence[str], excluded: Sequence[str] = (),
                  params: RankingParams = DEFAULT_PARAMS) -> CaseTerms:
    unknown: list[str] = []
    replaced: list[tuple[str, str]] = []
    unscored: list[str] = []

    def pick(ids: Sequence[str]) -> list[int]:
        out: list[int] = []
        for hid in ids:
            t, status = index.resolve(hid)
            if t is None:
                unknown.append(hid)
                continue
            if status == "replaced":
                replaced.append((hid, index.term_ids[t]))
            if not index.scored[t]:
                unscored.append(hid)
            elif t not in out:
                out.append(t)
        return out

    obs = pick(observed)
    exc = [t for t in pick(excluded) if t not in obs]
    if params.drop_redundant:
        implied = {a for t in obs for a in index.ancestors[t].tolist() if a != t}
        obs = [t for t in obs if t not in implied]
    return CaseTerms(tuple(obs), tuple(exc), tuple(dict.fromkeys(unknown)), tuple(replaced),
                     tuple(dict.fromkeys(unscored)))


def _strict_matrix(index: PhenotypeIndex, sibling: float) -> sp.csc_matrix:
    """S[d, a] = max(f(d, a) / bg[a] where d is annotated with a itself, sibling * R[d, a]):
    what a strict ancestor a of an observed term is worth."""
    key = ("S", sibling)
    if key not in index.memo:
        rows = np.concatenate([np.full(len(t), d, dtype=np.int32) for d, t in enumerate(index.ann_terms)])
        cols = np.concatenate(index.ann_terms)
        vals = np.concatenate(index.ann_freq) / index.bg[cols]
        direct = sp.csc_matrix((vals, (rows, cols)), shape=index.R.shape)
        index.memo[key] = sp.csc_matrix(direct.maximum(index.R * sibling)) if sibling > 0 else direct
    return index.memo[key]


def _column(m: sp.csc_matrix, a: int) -> tuple[np.ndarray, np.ndarray]:
    s, e = m.indptr[a], m.indptr[a + 1]
    return m.indices[s:e], m.data[s:e]


def _observed_log(index: PhenotypeIndex, q: int, params: RankingParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log10 LR of observed term q for every disease, as (dense part, rows, corrections).

    The max over q's general strict ancestors (large columns) is cached per set of such
    ancestors, so a case costs a dense add per term plus the few diseases annotated near q.
    """
    alpha = params.alpha
    S = _strict_matrix(index, params.sibling)
    anc = index.ancestors[q]
    strict = anc[anc != q]
    big = index.big[strict]
    key = (alpha, params.sibling, params.max_ratio, tuple(strict[big].tolist()))
    base = index.memo.get(key)
    if base is None:
        best = np.zeros(index.n_diseases)
        for a in key[3]:
            rows, vals = _column(S, a)
            best[rows] = np.maximum(best[rows], vals)
        base = (best, np.log10(alpha + (1 - alpha) * np.minimum(best, params.max_ratio)))
        index.memo[key] = base
    best, logs = base
    parts = [_column(S, a) for a in strict[~big].tolist()] + [_column(index.R, q)]
    rows = np.concatenate([p[0] for p in parts])
    if not len(rows):
        return logs, _EMPTY_I, _EMPTY_F
    vals = np.concatenate([p[1] for p in parts])
    o = np.argsort(rows, kind="stable")
    rows, vals = rows[o], vals[o]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    u = rows[starts]
    m = np.maximum(np.maximum.reduceat(vals, starts), best[u])
    return logs, u, np.log10(alpha + (1 - alpha) * np.minimum(m, params.max_ratio)) - logs[u]


_EMPTY_I = np.zeros(0, dtype=np.int32)
_EMPTY_F = np.zeros(0)


def score_terms(index: PhenotypeIndex, terms: CaseTerms, params: RankingParams = DEFAULT_PARAMS,
                drop_references: Collection[str] = ()) -> np.ndarray:
    """log10 score of every disease; -inf for a disease left with no annotation."""
    if params.model not in MODELS:
        raise ValueError(f"ranking model {params.model!r}: use one of {MODELS}")
    scores = _prior(index, params)
    if params.model == "mixture":
        for q in terms.observed:
            floor, rows, vals = _mixture_log(index, q, params)
            scores += floor
            scores[rows] += vals
    else:
        for q in terms.observed:
            logs, rows, corr = _observed_log(index, q, params)
            scores += logs
            scores[rows] += corr
    if params.use_excluded:
        k = 1 - params.delta
        for q in terms.excluded:
            scores -= math.log10(1 - k * index.bg[q])
            s, e = index.P.indptr[q], index.P.indptr[q + 1]
            scores[index.P.indices[s:e]] += np.log10(1 - k * index.P.data[s:e])
    if drop_references:
        drop = set(drop_references)
        affected = set().union(*(index.ref_diseases.get(r, set()) for r in drop))
        for d in affected:
            terms_d, freqs_d = kept_annotations(index, d, drop)
            scores[d] = (_disease_score(index, d, terms, params, terms_d, freqs_d)[0]
                         if len(terms_d) else -math.inf)
    return scores


def _noise(index: PhenotypeIndex, params: RankingParams) -> float:
    """nu * u: the chance that a reported term is noise and is this term."""
    key = ("noise", params.nu)
    if key not in index.memo:
        index.memo[key] = params.nu / max(int(index.scored.sum()), 1)
    return index.memo[key]


def _mixture_log(index: PhenotypeIndex, q: int, params: RankingParams) -> tuple[float, np.ndarray, np.ndarray]:
    """log10 LR of observed q under the mixture: (every disease's floor, rows with M > 0, their excess)."""
    assert index.M is not None
    noise = _noise(index, params)
    den = math.log10((1 - params.nu) * index.mbg[q] + noise)
    s, e = index.M.indptr[q], index.M.indptr[q + 1]
    rows = index.M.indices[s:e]
    vals = np.log10((1 - params.nu) * index.M.data[s:e] + noise) - math.log10(noise)
    return math.log10(noise) - den, rows, vals


def _prior(index: PhenotypeIndex, params: RankingParams) -> np.ndarray:
    """A disease annotated with many features explains any one term more easily; penalise its size."""
    key = ("prior", params.size_prior)
    if key not in index.memo:
        n = np.array([len(t) for t in index.ann_terms], dtype=float)
        index.memo[key] = -params.size_prior * np.log10(np.maximum(n, 1))
    return index.memo[key].copy()


def kept_annotations(index: PhenotypeIndex, d: int, drop: Collection[str]) -> tuple[np.ndarray, np.ndarray]:
    """Disease d's annotations minus those whose every reference is in `drop`."""
    keep = [i for i, refs in enumerate(index.ann_refs[d]) if not refs or not set(refs) <= set(drop)]
    return index.ann_terms[d][keep], index.ann_freq[d][keep]


def _propagated_row(index: PhenotypeIndex, d: int) -> dict[int, float]:
    """Row d of P as {term: value}, from a CSR copy made once per process."""
    csr = index.memo.get("P_csr")
    if csr is None:
        csr = index.memo["P_csr"] = index.P.tocsr()
    s, e = csr.indptr[d], csr.indptr[d + 1]
    return dict(zip(csr.indices[s:e].tolist(), csr.data[s:e].tolist(), strict=True))


def _mixture_row(index: PhenotypeIndex, d: int) -> tuple[dict[int, float], dict[int, tuple[float, int]]]:
    """Disease d's row of M with each term's main annotation, computed once per process per disease
    (the same sums as the index's M)."""
    rows = index.memo.setdefault("M_rows", {})
    if d not in rows:
        rows[d] = index.mixture_row_explained(index.ann_terms[d], index.ann_freq[d])
    return rows[d]


def _disease_score(index: PhenotypeIndex, d: int, terms: CaseTerms, params: RankingParams,
                   ann_terms: np.ndarray, ann_freq: np.ndarray,
                   prop_from_index: bool = False) -> tuple[float, list[TermContribution]]:
    """One disease, term by term (the explanation); agrees with the vectorised score."""
    needs_prop = params.model == "lr" or (params.use_excluded and terms.excluded)
    prop: dict[int, float] = {}
    if needs_prop:
        prop = _propagated_row(index, d) if prop_from_index else index.propagate(ann_terms, ann_freq)
    direct = dict(zip(ann_terms.tolist(), ann_freq.tolist(), strict=True))
    contribs: list[TermContribution] = []
    total = -params.size_prior * math.log10(max(len(ann_terms), 1))
    a_ = params.alpha
    bg = index.bg
    main: dict[int, tuple[float, int]] = {}
    if params.model == "mixture":
        row, main = _mixture_row(index, d) if prop_from_index else index.mixture_row_explained(ann_terms, ann_freq)
        noise = _noise(index, params)
        for q in terms.observed:
            m = row.get(q, 0.0)
            c = math.log10(((1 - params.nu) * m + noise) / ((1 - params.nu) * index.mbg[q] + noise))
            total += c
            matched = index.term_ids[main[q][1]] if m > 0 else None
            contribs.append(TermContribution(index.term_ids[q], index.term_labels[q], matched, c,
                                             "observed" if m > 0 else "unmatched"))
    for q in (terms.observed if params.model == "lr" else ()):
        best, matched = 0.0, None
        for a in index.ancestors[q].tolist():
            if a not in prop:  # nothing annotated at or below a (and then bg[a] may be 0)
                continue
            if a == q:
                cand = [(prop[q] / bg[q], "under")]
            else:
                cand = [(direct.get(a, 0.0) / bg[a], "direct"), (params.sibling * prop[a] / bg[a], "under")]
            for r, how in cand:
                if r > best:
                    best = r
                    matched = index.term_ids[a] if how == "direct" else (a, prop[a])
        c = math.log10(a_ + (1 - a_) * min(best, params.max_ratio))
        total += c
        if isinstance(matched, tuple):
            matched = _annotation_under(index, matched[0], ann_terms, ann_freq)
        contribs.append(TermContribution(index.term_ids[q], index.term_labels[q], matched, c,
                                         "observed" if best > 0 else "unmatched"))
    if params.use_excluded:
        k = 1 - params.delta
        for q in terms.excluded:
            p = prop.get(q, 0.0)
            c = math.log10((1 - k * p) / (1 - k * index.bg[q]))
            total += c
            if p <= 0:
                matched = None
            elif q in main:  # mixture: the annotation that weighs most towards q (computed above)
                matched = index.term_ids[main[q][1]]
            else:
                matched = _annotation_under(index, q, ann_terms, ann_freq)
            contribs.append(TermContribution(index.term_ids[q], index.term_labels[q], matched, c, "excluded"))
    for hid in terms.unknown:
        contribs.append(TermContribution(hid, "unknown HPO id (not scored)", None, 0.0, "unmatched"))
    return total, contribs


def _annotation_under(index: PhenotypeIndex, a: int, ann_terms: np.ndarray, ann_freq: np.ndarray) -> str | None:
    """The most frequent annotated term at or below `a` (what explains a match through a)."""
    sets = index.memo.setdefault("ancestor_sets", {})
    best, out = -1.0, None
    for t, f in zip(ann_terms.tolist(), ann_freq.tolist(), strict=True):
        anc = sets.get(t)
        if anc is None:
            anc = sets[t] = frozenset(index.ancestors[t].tolist())
        if f > best and a in anc:
            best, out = f, index.term_ids[t]
    return out


def order(scores: np.ndarray, top: int | None = None) -> np.ndarray:
    """Disease indices best first; ties by index (disease id order); -inf last. With `top`, only
    the first `top` of that order (found without sorting everything)."""
    if top is None or top >= len(scores):
        return np.lexsort((np.arange(len(scores)), -scores))
    if top <= 0:
        return np.zeros(0, dtype=np.int64)
    kth = np.partition(-scores, top - 1)[top - 1]
    cand = np.flatnonzero(-scores <= kth)  # every disease scoring at least the top-th best (ties too)
    return cand[np.lexsort((cand, -scores[cand]))][:top]


def rank_of(scores: np.ndarray, d: int) -> int:
    """The true disease's rank with ties counted against the ranker; a removed disease ranks last."""
    if not np.isfinite(scores[d]):
        return len(scores)
    return int(np.count_nonzero(scores >= scores[d]))


def rank_case(index: PhenotypeIndex, observed: Sequence[str], excluded: Sequence[str] = (), *, top: int = 10,
              drop_references: Collection[str] = (),
              params: RankingParams = DEFAULT_PARAMS) -> list[RankedDisease]:
    """The `top` best diseases for a case, each with every term's contribution."""
    terms = resolve_terms(index, observed, excluded, params)
    scores = score_terms(index, terms, params, drop_references)
    best = order(scores, top)
    drop = set(drop_references)
    out = []
    for i, d in enumerate(best.tolist(), 1):
        if not np.isfinite(scores[d]):
            break
        t_d, f_d = kept_annotations(index, d, drop) if drop else (index.ann_terms[d], index.ann_freq[d])
        intact = len(t_d) == len(index.ann_terms[d])
        total, contribs = _disease_score(index, d, terms, params, t_d, f_d, prop_from_index=intact)
        prior = -params.size_prior * math.log10(max(len(t_d), 1))
        out.append(RankedDisease(index.disease_ids[d], index.disease_labels[d], round(float(scores[d]), 6), i,
                                 tuple(contribs), round(prior, 6)))
    return out
