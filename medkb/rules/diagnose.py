"""One case, every kind of reasoning: the rules, the drug-safety check against the graph, and the
phenotype ranking (helper module rules/ranking.py) when the case has phenotypes. Pure apart from
graph reads; rules/results.py stores what this returns."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from medkb.kb.client import GraphClient
from medkb.rules.case import Case, CasePhenotype
from medkb.rules.drug_safety import check_case
from medkb.rules.engine import CaseEvaluation, evaluate_case
from medkb.rules.explain import Suggestion
from medkb.rules.mapping import ConceptMapper
from medkb.rules.ruleset import RuleSet

RANK_TOP = 5
RANK_ID, RANK_VERSION = "phenotype-ranking", 2  # 2: the per-disease mixture model


@dataclass(frozen=True)
class Diagnosed:
    evaluation: CaseEvaluation
    touched: frozenset[str]
    linked: tuple[CasePhenotype, ...]  # HPO terms derived from the coded conditions


def link_phenotypes(case: Case, mapper: ConceptMapper) -> tuple[CasePhenotype, ...]:
    """HPO terms for the case's coded conditions (curated table, hp.obo SNOMED xrefs, names)."""
    out: dict[str, CasePhenotype] = {}
    for c in case.conditions:
        for p in mapper.condition_concepts(c)[1]:
            if p.concept_id not in out:
                out[p.concept_id] = CasePhenotype(
                    hpo_id=p.concept_id, excluded=False, onset=c.at.date().isoformat() if c.at else None,
                    evidence=f"snomed:{c.code} ({c.display}) via {p.via}")
    return tuple(out.values())


def rank_suggestions(case: Case, index: Any, as_of: date, top: int = RANK_TOP) -> list[Suggestion]:
    from medkb.rules.ranking import rank_case

    observed = sorted({p.hpo_id for p in case.phenotypes if not p.excluded})
    excluded = sorted({p.hpo_id for p in case.phenotypes if p.excluded})
    if not observed:
        return []
    out = []
    for r in rank_case(index, observed, excluded, top=top):
        terms = [{"hpo_id": t.hpo_id, "name": t.label, "matched_annotation": t.matched_annotation_id,
                  "contribution": round(t.contribution, 4), "kind": t.kind} for t in r.contributions]
        explanation = {
            "source": {"kind": "phenotype_ranking", "id": RANK_ID, "version": RANK_VERSION, "ruleset": None},
            "as_of": as_of.isoformat(),
            "matched": {"criterion": RANK_ID, "status": "met",
                        "detail": f"rank {r.rank} of the OMIM diseases by summed log10 likelihood ratio {r.score:.2f}"},
            "facts": [p.fact() for p in case.phenotypes],
            "graph": {"nodes": [{"id": r.disease_id, "label": "Disease", "name": r.label}],
                      "edges": [{"type": "HAS_PHENOTYPE", "from": r.disease_id, "to": t["matched_annotation"]}
                                for t in terms if t["matched_annotation"]]},
            "evidence": [], "terms": terms,
        }
        out.append(Suggestion(kind="phenotype_ranking", key=f"rank:{r.disease_id}", name=r.label,
                              codes={"omim": r.disease_id}, strength="possible",
                              recommendation="Compare the case with this disease's features; consider genetic testing.",
                              explanation=explanation, score=r.score))
    return out


def diagnose_case(case: Case, ruleset: RuleSet, graph: GraphClient | None, mapper: ConceptMapper | None,
                  index: Any = None, as_of: date | None = None, rank_top: int = RANK_TOP) -> Diagnosed:
    """Rules, drug safety (when a graph is given) and ranking (when an index is given) for one case."""
    as_of = as_of or case.as_of
    linked: tuple[CasePhenotype, ...] = ()
    touched: set[str] = set()
    extra: list[Suggestion] = []
    if graph is not None and mapper is not None:
        linked = link_phenotypes(case, mapper)
        known = {p.hpo_id for p in case.phenotypes}
        case = replace(case, phenotypes=case.phenotypes + tuple(p for p in linked if p.hpo_id not in known))
        ds = check_case(case, graph, mapper, as_of)
        touched |= ds.touched
        extra.extend(ds.suggestions)
    touched |= {p.hpo_id for p in case.phenotypes}
    ev = evaluate_case(case, ruleset, as_of)
    if index is not None:
        extra.extend(rank_suggestions(case, index, as_of, rank_top))
    ev = replace(ev, suggestions=ev.suggestions + tuple(extra))
    return Diagnosed(ev, frozenset(touched), linked)
