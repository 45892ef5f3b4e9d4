"""Suggestions and their explanations: a machine-readable JSON record, and a short text made from it.

Every suggestion, whatever produced it (a rule, a drug-safety match, the phenotype ranking), carries
the same explanation shape, so a clinician's tool reads one format:

    {"source": {"kind", "id", "version", "ruleset"}, "as_of": "YYYY-MM-DD",
     "matched": <criterion tree: criterion, status, detail, facts>,
     "facts": [<case facts with values and dates>],
     "graph": {"nodes": [{id, label, name}], "edges": [{type, from, to, ...}]},
     "evidence": [{pmid, sentence, score}], "terms": [<per-term contributions, ranking only>]}

The text is rendered from the JSON alone, never from anything the JSON lacks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = ("rule", "adverse_drug_event", "phenotype_ranking")


@dataclass(frozen=True)
class Suggestion:
    kind: str  # one of KINDS
    key: str  # stable identity across runs, for result diffs: "rule:anaemia", "ade:MESH:..|MESH:.."
    name: str
    codes: dict[str, str]  # {"snomed": .., "icd10cm": ..} or {"mesh": ..} or {"omim": ..}
    strength: str
    recommendation: str
    explanation: dict[str, Any] = field(default_factory=dict)
    score: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"suggestion {self.key}: kind {self.kind!r} is not one of {KINDS}")

    @property
    def text(self) -> str:
        return render_text(self)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "name": self.name, "codes": self.codes,
                "strength": self.strength, "recommendation": self.recommendation, "score": self.score,
                "explanation": self.explanation, "text": self.text}

    def fingerprint(self) -> dict[str, Any]:
        """What a result diff compares: a suggestion whose facts moved is 'changed'."""
        return {"strength": self.strength, "score": None if self.score is None else round(self.score, 6),
                "facts": self.explanation.get("facts", []), "evidence": self.explanation.get("evidence", [])}


def _fact_text(f: dict[str, Any]) -> str:
    when = (f.get("at") or "")[:10]
    t = f.get("type")
    if t == "observation":
        if f.get("unit_error"):
            return f"{f.get('display') or f.get('loinc')}: unit not convertible ({f['unit_error']})"
        return f"{f.get('display') or f.get('loinc')} {f.get('value'):g} {f.get('unit') or ''} on {when}".strip()
    if t in ("condition", "medication", "procedure"):
        return f"{t} {f.get('display') or f.get('code')}" + (f" since {when}" if when else "")
    if t == "phenotype":
        return f"{'no ' if f.get('excluded') else ''}{f.get('name') or f.get('hpo_id')}"
    if t in ("sex", "age"):
        return f"{t} {f.get('value')}"
    return str({k: v for k, v in f.items() if k != "type"})


def render_text(s: Suggestion) -> str:
    """A few lines a clinician reads: what, how strong, why (facts, graph evidence), what to do."""
    e = s.explanation
    src = e.get("source", {})
    head = f"{s.name} ({', '.join(f'{k.upper()} {v}' for k, v in s.codes.items())}): {s.strength}"
    lines = [head, f"  because ({src.get('kind')} {src.get('id')} v{src.get('version')}):"]
    for f in e.get("facts", [])[:6]:
        lines.append(f"    - {_fact_text(f)}")
    for t in e.get("terms", [])[:5]:
        lines.append(f"    - {t.get('name') or t.get('hpo_id')}: {t.get('contribution', 0):+.2f}")
    for ev in e.get("evidence", [])[:3]:
        sentence = (ev.get("sentence") or "").strip()
        lines.append(f"    - PMID {ev.get('pmid')}: \"{sentence[:160]}{'…' if len(sentence) > 160 else ''}\"")
    lines.append(f"  recommendation: {s.recommendation}")
    return "\n".join(lines)


def flatten_facts(tree: dict[str, Any]) -> list[dict[str, Any]]:
    """The facts of the met leaves of an outcome tree, de-duplicated, in order."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()

    def walk(node: dict[str, Any], negated: bool) -> None:
        if node.get("children"):
            neg = negated ^ (node.get("criterion") == "not")
            for c in node["children"]:
                walk(c, neg)
            return
        if (node.get("status") == "met") != negated:
            for f in node.get("facts", []):
                key = repr(sorted(f.items()))
                if key not in seen:
                    seen.add(key)
                    out.append(f)

    walk(tree, False)
    return out
