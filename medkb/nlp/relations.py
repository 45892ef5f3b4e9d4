"""Chemical–Disease INDUCES from one sentence: co-occurrence scored by trigger and cue words.

Transparent on purpose: the score is a sum of named parts, and each assertion keeps its
evidence sentence. A pair scores a base for co-occurring, more when the sentence carries an
induction trigger ("induced", "caused", "toxicity" ...) or the chemical is the title's topic,
and less when it carries a treatment cue ("treat", "prevent", "protect" ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TRIGGERS = re.compile(
    r"induc|caus|associated|due to|follow|after|toxicit|related|side effect|adverse|develop|produc|"
    r"result|occur|complicat|elicit|provok|precipitat|evoke|secondary to|attributed|exposure|overdose|intoxicat",
    re.I,
)
TREATMENT = re.compile(r"\btreat|prevent|protect|attenuat|revers|ameliorat|inhibit|allevia|therapy for|efficacy|improv", re.I)
WEIGHTS = {"cooccur": 0.35, "trigger": 0.25, "title_chemical": 0.2, "near": 0.1, "treatment": -0.25}
THRESHOLD = 0.45


@dataclass(frozen=True)
class LinkedSpan:
    """A mention after normalisation (all ids, composites included)."""

    start: int
    end: int
    type: str
    ids: tuple[str, ...]


@dataclass(frozen=True)
class Relation:
    chemical_id: str
    disease_id: str
    score: float
    start: int  # evidence sentence offsets
    end: int


def score_pair(sentence: str, chem: LinkedSpan, dis: LinkedSpan, title_chemicals: set[str], offset: int) -> float:
    """The INDUCES score of one chemical/disease pair in one sentence."""
    s = WEIGHTS["cooccur"]
    if TRIGGERS.search(sentence):
        s += WEIGHTS["trigger"]
    if any(i in title_chemicals for i in chem.ids):
        s += WEIGHTS["title_chemical"]
    between = sentence[min(chem.end, dis.end) - offset : max(chem.start, dis.start) - offset]
    if len(between) < 40:
        s += WEIGHTS["near"]
    if TREATMENT.search(sentence):
        s += WEIGHTS["treatment"]
    return round(max(0.0, min(1.0, s)), 3)


def extract_relations(
    text: str, sentences: list[tuple[int, int]], spans: list[LinkedSpan], title_end: int, threshold: float = THRESHOLD
) -> list[Relation]:
    """INDUCES candidates per sentence at or above `threshold`; the best sentence per pair is kept."""
    title_chemicals = {i for sp in spans if sp.type == "Chemical" and sp.end <= title_end for i in sp.ids}
    best: dict[tuple[str, str], Relation] = {}
    for s0, s1 in sentences:
        inside = [sp for sp in spans if sp.start >= s0 and sp.end <= s1 and sp.ids]
        chems = [sp for sp in inside if sp.type == "Chemical"]
        diss = [sp for sp in inside if sp.type == "Disease"]
        for c in chems:
            for d in diss:
                sc = score_pair(text[s0:s1], c, d, title_chemicals, s0)
                if sc < threshold:
                    continue
                for ci in c.ids:
                    for di in d.ids:
                        key = (ci, di)
                        if key not in best or sc > best[key].score:
                            best[key] = Relation(ci, di, sc, s0, s1)
    return sorted(best.values(), key=lambda r: (r.start, r.chemical_id, r.disease_id))
