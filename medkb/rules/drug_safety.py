"""Drug-safety suggestions from the graph: a patient who started chemical X and later developed
condition Y, where the graph holds `(X)-[:INDUCES]->(Y)` from extracted evidence, gets a "possible
adverse drug event" citing the strongest evidence sentences and their PMIDs.

The case's drugs and conditions reach the graph through rules/mapping.py; every concept they map
to is reported as `touched`, which is what `diagnose --changed` compares against the graph runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, LiteralString

from medkb.kb.client import GraphClient
from medkb.rules.case import Case, Coded
from medkb.rules.explain import Suggestion
from medkb.rules.mapping import ConceptMapper, Mapped

RULE_ID = "drug-safety.induces"
RULE_VERSION = 1
EVIDENCE_PER_PAIR = 3

_INDUCES: LiteralString = """
UNWIND $pairs AS p
MATCH (c:Chemical {id: p.c})-[i:INDUCES]->(d:Disease {id: p.d})
OPTIONAL MATCH (a:Assertion {id: c.id + '|INDUCES|' + d.id})-[e:EVIDENCE]->(doc:Document)
WITH c, d, i, a, e, doc ORDER BY e.score DESC, doc.pmid
WITH c, d, i, a, collect(CASE WHEN e IS NULL THEN null ELSE
     {pmid: doc.pmid, sentence: e.sentence, score: e.score, run: e.run} END)[..$k] AS evidence
RETURN c.id AS chemical, c.name AS chemical_name, d.id AS disease, d.name AS disease_name,
       i.docs AS docs, i.score AS score, i.runs AS runs, a.id AS assertion, evidence
"""


@dataclass(frozen=True)
class DrugSafetyResult:
    suggestions: tuple[Suggestion, ...]
    touched: frozenset[str]  # graph concepts the case's drugs and conditions map to
    unmapped_drugs: tuple[str, ...]  # displays of drugs that reached no MeSH chemical


def _after(med: Coded, cond: Coded) -> bool:
    return med.at is not None and cond.at is not None and med.at < cond.at


def check_case(case: Case, graph: GraphClient, mapper: ConceptMapper, as_of: date | None = None) -> DrugSafetyResult:
    """Every (drug started, condition later) pair of the case that the graph says INDUCES."""
    as_of = as_of or case.as_of
    meds = [m for m in case.medications if m.at is None or m.at.date() <= as_of]
    conds = [c for c in case.conditions if c.at is None or c.at.date() <= as_of]
    touched: set[str] = {p.hpo_id for p in case.phenotypes}
    chem_of: dict[str, list[Mapped]] = {}
    unmapped: list[str] = []
    for m in meds:
        key = m.code or m.display
        if key not in chem_of:
            chem_of[key] = mapper.chemicals(m)
            if not chem_of[key]:
                unmapped.append(m.display)
        touched.update(x.concept_id for x in chem_of[key])
    dis_of: dict[str, list[Mapped]] = {}
    for c in conds:
        key = c.code or c.display
        if key not in dis_of:
            diseases, phenos = mapper.condition_concepts(c)
            dis_of[key] = diseases
            touched.update(x.concept_id for x in (*diseases, *phenos))
    # the earliest start of each chemical, the earliest onset of each disease: one suggestion per pair
    first_med: dict[str, tuple[Coded, Mapped]] = {}
    for m in meds:
        for ch in chem_of[m.code or m.display]:
            if m.at is not None and (ch.concept_id not in first_med or m.at < first_med[ch.concept_id][0].at):  # type: ignore[operator]
                first_med[ch.concept_id] = (m, ch)
    first_cond: dict[str, tuple[Coded, Mapped]] = {}
    for c in conds:
        for d in dis_of[c.code or c.display]:
            if c.at is not None and (d.concept_id not in first_cond or c.at < first_cond[d.concept_id][0].at):  # type: ignore[operator]
                first_cond[d.concept_id] = (c, d)
    pairs = [{"c": cid, "d": did} for cid, (m, _) in first_med.items() for did, (c, _) in first_cond.items()
             if _after(m, c)]
    rows = graph.read(_INDUCES, {"pairs": pairs, "k": EVIDENCE_PER_PAIR}) if pairs else []
    suggestions = [_suggestion(r, first_med[r["chemical"]], first_cond[r["disease"]], as_of) for r in rows]
    suggestions.sort(key=lambda s: (-(s.score or 0), s.key))
    return DrugSafetyResult(tuple(suggestions), frozenset(touched), tuple(dict.fromkeys(unmapped)))


def _suggestion(row: dict[str, Any], med: tuple[Coded, Mapped], cond: tuple[Coded, Mapped], as_of: date) -> Suggestion:
    (m, chem), (c, dis) = med, cond
    days = (c.at - m.at).days  # type: ignore[operator]
    evidence = [e for e in row["evidence"] if e]
    facts = [
        {**m.fact(), "mapped_to": chem.concept_id, "mapped_via": chem.via},
        {**c.fact(), "mapped_to": dis.concept_id, "mapped_via": dis.via, "days_after_start": days},
    ]
    explanation = {
        "source": {"kind": "adverse_drug_event", "id": RULE_ID, "version": RULE_VERSION, "ruleset": None},
        "as_of": as_of.isoformat(),
        "matched": {"criterion": RULE_ID, "status": "met",
                    "detail": f"{dis.name} began {days} day(s) after {chem.name} was started, and the graph holds "
                              f"{chem.concept_id} INDUCES {dis.concept_id} ({row['docs']} document(s))"},
        "facts": facts,
        "graph": {
            "nodes": [{"id": row["chemical"], "label": "Chemical", "name": row["chemical_name"]},
                      {"id": row["disease"], "label": "Disease", "name": row["disease_name"]},
                      *([{"id": row["assertion"], "label": "Assertion"}] if row["assertion"] else [])],
            "edges": [{"type": "INDUCES", "from": row["chemical"], "to": row["disease"], "docs": row["docs"],
                       "score": row["score"], "runs": row["runs"]}],
        },
        "evidence": [{"pmid": e["pmid"], "sentence": e["sentence"], "score": e["score"]} for e in evidence],
    }
    return Suggestion(
        kind="adverse_drug_event", key=f"ade:{row['chemical']}|{row['disease']}",
        name=f"Possible adverse drug event: {row['disease_name']} after {row['chemical_name']}",
        codes={"mesh_chemical": row["chemical"], "mesh_disease": row["disease"]}, strength="possible",
        recommendation=f"Review whether {m.display} could have caused {c.display}; weigh stopping or switching it, "
                       f"and report a suspected reaction.",
        explanation=explanation, score=float(row["score"] or 0.0),
    )
