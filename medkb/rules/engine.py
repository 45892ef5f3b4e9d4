"""The rule engine: a case and a rule set in, suggestions (with explanations) and the rules that
could not be evaluated out. Pure: no store is touched here, so the CLI, the DAG and the benchmark
call the same function."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from medkb.rules.case import Case
from medkb.rules.criteria import MET, NOT_EVALUABLE, UNMET, Criterion, Outcome
from medkb.rules.explain import Suggestion, flatten_facts
from medkb.rules.ruleset import AllOf, AnyOf, NotOf, Rule, RuleSet


@dataclass(frozen=True)
class NotEvaluable:
    rule_id: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule_id, "reason": self.reason}


@dataclass(frozen=True)
class CaseEvaluation:
    source: str
    case_key: str
    as_of: date
    suggestions: tuple[Suggestion, ...]
    not_evaluable: tuple[NotEvaluable, ...] = ()
    notes: tuple[str, ...] = field(default=())  # problems with the case itself (no observations, ...)

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "case": self.case_key, "as_of": self.as_of.isoformat(),
                "suggestions": [s.as_dict() for s in self.suggestions],
                "not_evaluable": [n.as_dict() for n in self.not_evaluable], "notes": list(self.notes)}


def evaluate_node(node: Any, case: Case, as_of: date) -> Outcome:
    """all: met when every child is, unmet when one is unmet; any: met when one is, unmet when every
    child is; a child that cannot be evaluated leaves the combination undecided (not evaluable)."""
    if isinstance(node, AllOf | AnyOf):
        children = tuple(evaluate_node(n, case, as_of) for n in (node.all if isinstance(node, AllOf) else node.any))
        statuses = {c.status for c in children}
        if isinstance(node, AllOf):
            status = UNMET if UNMET in statuses else (NOT_EVALUABLE if NOT_EVALUABLE in statuses else MET)
        else:
            status = MET if MET in statuses else (NOT_EVALUABLE if NOT_EVALUABLE in statuses else UNMET)
        return Outcome(status, criterion="all" if isinstance(node, AllOf) else "any", children=children)
    if isinstance(node, NotOf):
        child = evaluate_node(node.not_, case, as_of)
        status = {MET: UNMET, UNMET: MET}.get(child.status, NOT_EVALUABLE)
        return Outcome(status, criterion="not", children=(child,))
    assert isinstance(node, Criterion)
    return node.evaluate(case, as_of)


def _reasons(o: Outcome) -> list[str]:
    if o.children:
        return [r for c in o.children if c.status == NOT_EVALUABLE for r in _reasons(c)]
    return [f"{o.criterion}: {o.detail}"] if o.status == NOT_EVALUABLE else []


def evaluate_rule(rule: Rule, case: Case, ruleset_version: str, as_of: date) -> Suggestion | NotEvaluable | None:
    outcome = evaluate_node(rule.when, case, as_of)
    if outcome.status == NOT_EVALUABLE:
        return NotEvaluable(rule.id, "; ".join(_reasons(outcome)) or "undecided")
    if outcome.status != MET:
        return None
    tree = outcome.as_dict()
    explanation = {
        "source": {"kind": "rule", "id": rule.id, "version": rule.version, "ruleset": ruleset_version},
        "as_of": as_of.isoformat(), "matched": tree, "facts": flatten_facts(tree),
        "graph": {"nodes": [], "edges": []}, "evidence": [],
    }
    d = rule.diagnosis
    return Suggestion(kind="rule", key=f"rule:{rule.id}", name=d.name, codes={"snomed": d.snomed, "icd10cm": d.icd10cm},
                      strength=rule.strength, recommendation=rule.recommendation, explanation=explanation)


def evaluate_case(case: Case, ruleset: RuleSet, as_of: date | None = None) -> CaseEvaluation:
    """Every rule of the set against one case."""
    as_of = as_of or case.as_of
    notes = []
    if not case.observations:
        notes.append(f"case {case.case_key[:12]}…: no observations; rules on readings are not evaluable")
    unconvertible = [o for o in case.observations if o.unit_error]
    if unconvertible:
        notes.append(f"case {case.case_key[:12]}…: {len(unconvertible)} observation(s) in a unit that does not "
                     f"convert (e.g. {unconvertible[0].display or unconvertible[0].code}: {unconvertible[0].unit_error})")
    suggestions: list[Suggestion] = []
    skipped: list[NotEvaluable] = []
    for rule in ruleset.rules:
        result = evaluate_rule(rule, case, ruleset.version, as_of)
        if isinstance(result, Suggestion):
            suggestions.append(result)
        elif isinstance(result, NotEvaluable):
            skipped.append(result)
    return CaseEvaluation(case.source, case.case_key, as_of, tuple(suggestions), tuple(skipped), tuple(notes))
