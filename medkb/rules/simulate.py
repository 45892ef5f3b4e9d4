"""Simulated cases, the Phenomizer/LIRICAL protocol: terms sampled from a disease's annotations by
frequency, some replaced by a parent (imprecision), unrelated terms added (noise).

Used by bench/diagnose.py; deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medkb.rules.phenotype_index import PhenotypeIndex


@dataclass(frozen=True)
class Scenario:
    name: str
    terms: int  # terms sampled from the annotations
    imprecise: int  # of which this many are replaced by a parent
    noise: int  # unrelated terms added


SCENARIOS = (
    Scenario("exact5", 5, 0, 0),
    Scenario("imprecise5_noise2", 5, 2, 2),  # "half" of 5 imprecise: 2, rounded down
    Scenario("imprecise3_noise2", 3, 3, 2),
)
MIN_ANNOTATIONS = 5


@dataclass(frozen=True)
class SimulatedCase:
    disease: int  # index into index.disease_ids
    observed: tuple[str, ...]


def eligible_diseases(index: PhenotypeIndex, min_annotations: int = MIN_ANNOTATIONS) -> np.ndarray:
    return np.array([d for d in range(index.n_diseases) if len(index.ann_terms[d]) >= min_annotations])


def simulate(index: PhenotypeIndex, scenario: Scenario, cases: int, seed: int) -> list[SimulatedCase]:
    rng = np.random.default_rng([seed, sum(map(ord, scenario.name))])
    pool = eligible_diseases(index)
    scored = np.flatnonzero(index.scored)
    out = []
    for d in rng.choice(pool, size=cases, replace=True).tolist():
        terms, freqs = index.ann_terms[d], index.ann_freq[d]
        picked = rng.choice(len(terms), size=min(scenario.terms, len(terms)), replace=False, p=freqs / freqs.sum())
        chosen = [int(terms[i]) for i in picked]
        for i in rng.choice(len(chosen), size=min(scenario.imprecise, len(chosen)), replace=False).tolist():
            parents = index.parents[chosen[i]]
            if len(parents):
                chosen[i] = int(rng.choice(parents))
        related = set(index.propagate(terms, freqs)) | set(terms.tolist())
        annotated = set(terms.tolist())
        noise: list[int] = []
        while len(noise) < scenario.noise:
            t = int(rng.choice(scored))
            if t in related or t in noise or annotated & set(index.ancestors[t].tolist()):
                continue
            noise.append(t)
        ids = [index.term_ids[t] for t in chosen + noise]
        out.append(SimulatedCase(d, tuple(dict.fromkeys(ids))))
    return out
