"""The champion/challenger gate, with one promotion policy per model kind (models/promotion.yaml).

The policy is data: margins, tolerances, the minimum bar and which per-type scores may not drop.
`ner` has one now; the relation model registers as kind `re` and gets its own section.
`MEDKB_PROMOTION_POLICY=path` replaces the file wherever no path is passed (the registry's
`promote`, `medkb model promote`, the refinement DAG's gate): tests and trials lower the bar there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from medkb.settings import REPO_ROOT
from medkb.vocabulary import NER_TYPES

POLICY_FILE = REPO_ROOT / "models" / "promotion.yaml"
POLICY_ENV = "MEDKB_PROMOTION_POLICY"


def policy_file() -> Path:
    """The policy file in force: $MEDKB_PROMOTION_POLICY when set (and not empty), else models/promotion.yaml."""
    return Path(os.environ.get(POLICY_ENV) or POLICY_FILE)


class PolicyError(ValueError):
    """models/promotion.yaml has no usable policy for a kind; the message names the kind and the file."""


@dataclass(frozen=True)
class GatePolicy:
    margin: float = 0.3
    tolerance: float = 1.0
    min_f1: float = 75.0
    types: tuple[str, ...] = NER_TYPES  # per-type scores none of which may drop by more than the tolerance

    @classmethod
    def load(cls, path: Path | str | None = None, kind: str = "ner") -> GatePolicy:
        """The policy of one model kind: the file's `<kind>:` section (file: `policy_file()` unless given)."""
        path = Path(path) if path is not None else policy_file()
        raw = yaml.safe_load(Path(path).read_text()) or {}
        section = raw.get(kind)
        if not isinstance(section, dict):
            raise PolicyError(f"{path}: no promotion policy for model kind {kind!r}; add a `{kind}:` section "
                              f"(margin, tolerance, min_f1, types) beside {sorted(raw)}")
        unknown = set(section) - {"margin", "tolerance", "min_f1", "types"}
        if unknown:
            raise PolicyError(f"{path}: policy {kind!r} has unknown keys {sorted(unknown)}")
        values: dict[str, Any] = {k: float(v) for k, v in section.items() if k != "types"}
        if "types" in section:
            values["types"] = tuple(str(t) for t in section["types"])
        return cls(**values)


def gate(challenger: dict[str, Any], champion: dict[str, Any] | None, policy: GatePolicy,
         other_devs: dict[str, tuple[float, float]] | None = None) -> tuple[bool, tuple[str, ...]]:
    """Decide on primary-dev scores ({"micro": {"f1"}, "Chemical": {...}, ...}); reasons either way.

    other_devs: {dev file: (challenger micro F1, champion micro F1)} for the other dev files both
    were scored on; none may drop by more than the tolerance either (a BC5CDR-only model gained on
    BC5CDR dev and fell from 81.8 to 62 on NCBI dev: the primary set alone would have promoted it).
    """
    f1 = challenger["micro"]["f1"]
    if champion is None:
        ok = f1 >= policy.min_f1
        return ok, (f"no champion yet: micro F1 {f1:.2f} {'>=' if ok else '<'} minimum bar {policy.min_f1:.2f}",)
    reasons = []
    gain = f1 - champion["micro"]["f1"]
    ok = gain > policy.margin
    reasons.append(f"micro F1 {f1:.2f} vs champion {champion['micro']['f1']:.2f}: gain {gain:+.2f} "
                   f"{'>' if ok else '<='} margin {policy.margin:.2f}")
    for t in policy.types:
        drop = champion[t]["f1"] - challenger[t]["f1"]
        if drop > policy.tolerance:
            ok = False
            reasons.append(f"{t} F1 drops {drop:.2f} > tolerance {policy.tolerance:.2f}")
        else:
            reasons.append(f"{t} F1 {challenger[t]['f1']:.2f} (change {-drop:+.2f}) within tolerance")
    for dev, (mine, theirs) in sorted((other_devs or {}).items()):
        drop = theirs - mine
        if drop > policy.tolerance:
            ok = False
            reasons.append(f"{dev} micro F1 drops {drop:.2f} ({theirs:.2f} -> {mine:.2f}) > tolerance {policy.tolerance:.2f}")
        else:
            reasons.append(f"{dev} micro F1 {mine:.2f} (change {-drop:+.2f}) within tolerance")
    return ok, tuple(reasons)
