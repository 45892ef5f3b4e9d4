"""Criterion kinds, registered by name and version (`medkb.rule.threshold.v1`), that rule files use.

Each kind is a pydantic model (its fields are the YAML keys; unknown keys are errors) with an
`evaluate(case, as_of)` that returns an Outcome: met, unmet or not evaluable, with the case facts
it looked at. A kind never changes meaning once released: a new meaning is a new version.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from medkb.rules.case import Case, Coded, Observation
from medkb.rules.codes import hpo_error, loinc_error, rxnorm_error, snomed_error
from medkb.rules.units import canonical_units, check_unit

MET, UNMET, NOT_EVALUABLE = "met", "unmet", "not_evaluable"
Op = Literal["<", "<=", ">", ">=", "=="]
OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
}


@dataclass(frozen=True)
class Outcome:
    status: str  # met | unmet | not_evaluable
    facts: tuple[dict[str, Any], ...] = ()
    detail: str = ""
    criterion: str = ""  # the kind that produced it
    children: tuple[Outcome, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"criterion": self.criterion, "status": self.status}
        if self.detail:
            out["detail"] = self.detail
        if self.facts:
            out["facts"] = list(self.facts)
        if self.children:
            out["children"] = [c.as_dict() for c in self.children]
        return out


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: ClassVar[str]

    def evaluate(self, case: Case, as_of: date) -> Outcome:  # pragma: no cover - abstract
        raise NotImplementedError


REGISTRY: dict[str, type[Criterion]] = {}


def register(cls: type[Criterion]) -> type[Criterion]:
    if cls.name in REGISTRY:
        raise ValueError(f"criterion kind {cls.name} is registered twice")
    REGISTRY[cls.name] = cls
    return cls


def _codes(values: list[str], check: Callable[[str], str | None]) -> list[str]:
    for v in values:
        if err := check(v):
            raise ValueError(err)
    return values


class _ObservationCriterion(Criterion):
    loinc: list[str] = Field(min_length=1)  # any of these codes
    op: Op
    value: float
    unit: str
    # only readings reported in one of these units, before conversion: UCUM treats an annotation such as
    # {1.73_m2} as 1, so an eGFR in plain mL/min (not indexed to body surface, a clearance for drug
    # dosing) converts silently, yet KDIGO stages CKD on the indexed value only
    reported_units: list[str] | None = None

    @field_validator("loinc", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("loinc")
    @classmethod
    def _loinc_ok(cls, v: list[str]) -> list[str]:
        return _codes(v, loinc_error)

    @model_validator(mode="after")
    def _unit_ok(self) -> _ObservationCriterion:
        if err := check_unit(self.unit):
            raise ValueError(err)
        for code in self.loinc:
            canon = canonical_units().get(code)
            if canon is None:
                raise ValueError(f"LOINC {code} has no canonical unit in rules/library/units.yaml; add it there")
            if canon != self.unit:
                raise ValueError(f"unit {self.unit!r} for LOINC {code}: observations are normalised to "
                                 f"{canon!r}; state the threshold in {canon!r}")
        return self

    def _readings(self, case: Case, as_of: date, window_days: int | None) -> tuple[list[Observation], list[Observation]]:
        """(usable readings up to as_of and inside the window, readings whose unit did not convert)."""
        start = as_of - timedelta(days=window_days) if window_days else None
        usable, broken = [], []
        for o in case.observations_of(self.loinc):
            day = o.at.date() if o.at else None
            if day is None or day > as_of or (start is not None and day < start):
                continue
            if self.reported_units is not None and o.raw_unit not in self.reported_units:
                continue
            if o.unit_error:
                broken.append(o)
            elif o.value is not None:
                usable.append(o)
        return usable, broken

    def _passes(self, o: Observation) -> bool:
        return o.value is not None and OPS[self.op](o.value, self.value)

    def _no_data(self, broken: list[Observation]) -> Outcome:
        if broken:
            return Outcome(NOT_EVALUABLE, tuple(o.fact() for o in broken[-3:]),
                           f"{len(broken)} reading(s) of {'/'.join(self.loinc)} in a unit that does not convert: "
                           f"{broken[-1].unit_error}", self.name)
        reported = f" reported in {' or '.join(self.reported_units)}" if self.reported_units else ""
        return Outcome(NOT_EVALUABLE, (), f"no reading of LOINC {'/'.join(self.loinc)}{reported}", self.name)


@register
class Threshold(_ObservationCriterion):
    """Any reading (in the window) on the threshold's side."""

    name: ClassVar[str] = "medkb.rule.threshold.v1"
    kind: Literal["medkb.rule.threshold.v1"]
    window_days: int | None = Field(default=None, gt=0)

    def evaluate(self, case: Case, as_of: date) -> Outcome:
        usable, broken = self._readings(case, as_of, self.window_days)
        if not usable:
            return self._no_data(broken)
        hits = [o for o in usable if self._passes(o)]
        if hits:
            return Outcome(MET, tuple(o.fact() for o in hits[-3:]),
                           f"{len(hits)} of {len(usable)} reading(s) {self.op} {self.value:g} {self.unit}", self.name)
        return Outcome(UNMET, (usable[-1].fact(),), f"no reading {self.op} {self.value:g} {self.unit}", self.name)


@register
class Count(_ObservationCriterion):
    """At least `min_count` readings on distinct days on the threshold's side, optionally inside a
    window and spanning at least `min_span_days` (persistence: CKD's two readings 90 days apart);
    with `followed_up`, also a reading of the same codes (any value) on a later day than the first of
    them: the finding was reviewed since (diabetes staged at one review, seen again at the next)."""

    name: ClassVar[str] = "medkb.rule.count.v1"
    kind: Literal["medkb.rule.count.v1"]
    min_count: int = Field(default=2, ge=1)
    window_days: int | None = Field(default=None, gt=0)
    min_span_days: int = Field(default=0, ge=0)
    fraction: float | None = Field(default=None, gt=0, le=1)  # and this share of all readings in the window
    followed_up: bool = False

    def evaluate(self, case: Case, as_of: date) -> Outcome:
        usable, broken = self._readings(case, as_of, self.window_days)
        if not usable:
            return self._no_data(broken)
        by_day: dict[date, Observation] = {}
        all_days: set[date] = set()
        for o in usable:
            day = o.at.date()  # type: ignore[union-attr]
            all_days.add(day)
            if self._passes(o):
                by_day.setdefault(day, o)
        days = sorted(by_day)
        span = (days[-1] - days[0]).days if days else 0
        share = len(days) / len(all_days) if all_days else 0.0
        later = [o for o in usable if o.at.date() > days[0]] if self.followed_up and days else []  # type: ignore[union-attr]
        ok = len(days) >= self.min_count and span >= self.min_span_days and (
            self.fraction is None or share >= self.fraction) and (not self.followed_up or bool(later))
        facts = tuple(by_day[d].fact() for d in (days[:1] + days[-2:] if len(days) > 3 else days))
        if self.followed_up and later:
            facts += (later[-1].fact(),)
        detail = (f"{len(days)} day(s) of {len(all_days)} with a reading {self.op} {self.value:g} {self.unit}, "
                  f"spanning {span} day(s) (need {self.min_count}, span >= {self.min_span_days}"
                  + (f", share >= {self.fraction:g}" if self.fraction else "")
                  + (f", and a later reading: {'yes' if later else 'none'}" if self.followed_up else "") + ")")
        return Outcome(MET if ok else UNMET, facts or (usable[-1].fact(),), detail, self.name)


@register
class Latest(_ObservationCriterion):
    """The most recent reading (up to the reference date) on the threshold's side."""

    name: ClassVar[str] = "medkb.rule.latest.v1"
    kind: Literal["medkb.rule.latest.v1"]
    window_days: int | None = Field(default=None, gt=0)

    def evaluate(self, case: Case, as_of: date) -> Outcome:
        usable, broken = self._readings(case, as_of, self.window_days)
        if not usable:
            return self._no_data(broken)
        last = usable[-1]
        ok = self._passes(last)
        return Outcome(MET if ok else UNMET, (last.fact(),),
                       f"latest reading {last.value:g} {self.unit} {'' if ok else 'not '}{self.op} {self.value:g}",
                       self.name)


class ReadingCondition(_ObservationCriterion):
    """A condition on another observation's reading (used inside `medkb.rule.same_day.v1`)."""

    name: ClassVar[str] = "reading"


@register
class SameDay(_ObservationCriterion):
    """At least `min_count` days (in the window) with a reading on the threshold's side and, drawn on
    the same day, a reading that meets `with_reading` (e.g. a raised creatinine on a day whose eGFR
    is 60 or more: how Synthea records CKD stages 1-2)."""

    name: ClassVar[str] = "medkb.rule.same_day.v1"
    kind: Literal["medkb.rule.same_day.v1"]
    with_reading: ReadingCondition
    min_count: int = Field(default=1, ge=1)
    window_days: int | None = Field(default=None, gt=0)

    def evaluate(self, case: Case, as_of: date) -> Outcome:
        usable, broken = self._readings(case, as_of, self.window_days)
        other, other_broken = self.with_reading._readings(case, as_of, self.window_days)
        if not usable or not other:
            return self._no_data(broken) if not usable else self.with_reading._no_data(other_broken)
        partner: dict[date, Observation] = {}
        for o in other:
            if self.with_reading._passes(o):
                partner.setdefault(o.at.date(), o)  # type: ignore[union-attr]
        hits: dict[date, tuple[Observation, Observation]] = {}
        for o in usable:
            day = o.at.date()  # type: ignore[union-attr]
            if self._passes(o) and day in partner:
                hits.setdefault(day, (o, partner[day]))
        days = sorted(hits)
        w = self.with_reading
        detail = (f"{len(days)} day(s) with {'/'.join(self.loinc)} {self.op} {self.value:g} {self.unit} and, the same "
                  f"day, {'/'.join(w.loinc)} {w.op} {w.value:g} {w.unit} (need {self.min_count})")
        facts = tuple(f for d in days[-2:] for f in (hits[d][0].fact(), hits[d][1].fact()))
        return Outcome(MET if len(days) >= self.min_count else UNMET, facts or (usable[-1].fact(),), detail, self.name)


@register
class Trend(_ObservationCriterion):
    """The least-squares slope of the readings in the window, per year, compared with `value`."""

    name: ClassVar[str] = "medkb.rule.trend.v1"
    kind: Literal["medkb.rule.trend.v1"]
    window_days: int = Field(default=730, gt=0)
    min_readings: int = Field(default=3, ge=2)

    def evaluate(self, case: Case, as_of: date) -> Outcome:
        usable, broken = self._readings(case, as_of, self.window_days)
        if len(usable) < self.min_readings:
            if not usable:
                return self._no_data(broken)
            return Outcome(NOT_EVALUABLE, tuple(o.fact() for o in usable),
                           f"{len(usable)} reading(s) in {self.window_days} days; a trend needs {self.min_readings}",
                           self.name)
        t0 = usable[0].at
        xs = [((o.at - t0).total_seconds() / 86400 / 365.25) for o in usable]  # type: ignore[operator]
        ys = [float(o.value) for o in usable]  # type: ignore[arg-type]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        var = sum((x - mx) ** 2 for x in xs)
        if var == 0:
            return Outcome(NOT_EVALUABLE, (), "all readings on one day; no trend", self.name)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var
        ok = OPS[self.op](slope, self.value)
        return Outcome(MET if ok else UNMET, (usable[0].fact(), usable[-1].fact()),
                       f"slope {slope:+.2f} {self.unit}/year over {len(usable)} readings "
                       f"({'' if ok else 'not '}{self.op} {self.value:g})", self.name)


@register
class HasCondition(Criterion):
    """A recorded condition with one of these SNOMED CT codes."""

    name: ClassVar[str] = "medkb.rule.condition.v1"
    kind: Literal["medkb.rule.condition.v1"]
    snomed: list[str] = Field(min_length=1)

    @field_validator("snomed")
    @classmethod
    def _ok(cls, v: list[str]) -> list[str]:
        return _codes(v, snomed_error)

    def evaluate(self, case: Case, as_of: date) -> Outcome:
        hits = [c for c in case.conditions if c.code in self.snomed and (c.at is None or c.at.date() <= as_of)]
        return Outcome(MET if hits else UNMET, tuple(c.fact() for c in hits[:3]),
                       f"{len(hits)} condition(s) coded {', '.join(self.snomed)}", self.name)


class MedicationSet(Criterion):
    """Medications by RxNorm code or ingredient name (whole words, case-folded)."""

    name: ClassVar[str] = "medications"
    rxnorm: list[str] = Field(default_factory=list)
    ingredients: list[str] = Field(default_factory=list)

    @field_validator("rxnorm")
    @classmethod
    def _ok(cls, v: list[str]) -> list[str]:
        return _codes(v, rxnorm_error)

    @model_validator(mode="after")
    def _some(self) -> MedicationSet:
        if not self.rxnorm and not self.ingredients:
            raise ValueError("give rxnorm codes or ingredients (or both)")
        return self

    def started(self, case: Case, as_of: date) -> list[Coded]:
        pattern = re.compile(r"\b(" + "|".join(re.escape(i.casefold()) for i in self.ingredients) + r")\b") \
            if self.ingredients else None
        return [m for m in case.medications if (m.at is None or m.at.date() <= as_of) and (
            m.code in self.rxnorm or (pattern is not None and pattern.search(m.display.casefold())))]


class StartedAfter(MedicationSet):
    """Started at most `days` days after one of these (used in `except_started_after`)."""

    days: int = Field(ge=0)


@register
class TakesMedication(MedicationSet):
    """A medication with one of these RxNorm codes, or whose name contains one of these ingredients,
    started on or before the reference date; with `except_started_after`, prescriptions started
    within that many days after another medication do not count (a statin started with a P2Y12
    inhibitor after a coronary event is secondary prevention, whatever the lipids)."""

    name: ClassVar[str] = "medkb.rule.medication.v1"
    kind: Literal["medkb.rule.medication.v1"]
    min_count: int = Field(default=1, ge=1)  # prescriptions on distinct days
    except_started_after: StartedAfter | None = None

    def evaluate(self, case: Case, as_of: date) -> Outcome:
        hits = self.started(case, as_of)
        ignored: list[Coded] = []
        if self.except_started_after is not None and hits:
            after = self.except_started_after
            starts = [m.at.date() for m in after.started(case, as_of) if m.at]
            ignored = [m for m in hits if m.at and any(0 <= (m.at.date() - s).days <= after.days for s in starts)]
            hits = [m for m in hits if m not in ignored]
        days = {m.at.date() for m in hits if m.at}
        ok = len(days or hits) >= self.min_count if hits else False
        detail = f"{len(hits)} prescription(s) on {len(days)} day(s) matching"
        if ignored:
            detail += f" ({len(ignored)} not counted: started within {self.except_started_after.days} day(s) after " \
                      f"{'/'.join(self.except_started_after.ingredients or self.except_started_after.rxnorm)})"
        return Outcome(MET if ok else UNMET, tuple(m.fact() for m in (hits or ignored)[:3]), detail, self.name)


@register
class HasPhenotype(Criterion):
    """An observed (not excluded) HPO term among these."""

    name: ClassVar[str] = "medkb.rule.phenotype.v1"
    kind: Literal["medkb.rule.phenotype.v1"]
    hpo: list[str] = Field(min_length=1)

    @field_validator("hpo")
    @classmethod
    def _ok(cls, v: list[str]) -> list[str]:
        return _codes(v, hpo_error)

    def evaluate(self, case: Case, as_of: date) -> Outcome:
        hits = [p for p in case.phenotypes if p.hpo_id in self.hpo and not p.excluded]
        return Outcome(MET if hits else UNMET, tuple(p.fact() for p in hits[:3]),
                       f"{len(hits)} phenotype(s) among {', '.join(self.hpo)}", self.name)


@register
class Sex(Criterion):
    name: ClassVar[str] = "medkb.rule.sex.v1"
    kind: Literal["medkb.rule.sex.v1"]
    sex: Literal["female", "male"]

    def evaluate(self, case: Case, as_of: date) -> Outcome:
        if case.gender not in ("female", "male"):
            return Outcome(NOT_EVALUABLE, (), "the case records no sex", self.name)
        ok = case.gender == self.sex
        return Outcome(MET if ok else UNMET, ({"type": "sex", "value": case.gender},), f"sex {case.gender}", self.name)


@register
class Age(Criterion):
    name: ClassVar[str] = "medkb.rule.age.v1"
    kind: Literal["medkb.rule.age.v1"]
    min_years: int | None = Field(default=None, ge=0)
    max_years: int | None = Field(default=None, ge=0)

    def evaluate(self, case: Case, as_of: date) -> Outcome:
        if case.birth_year is None:
            return Outcome(NOT_EVALUABLE, (), "the case records no birth year", self.name)
        age = as_of.year - case.birth_year
        ok = (self.min_years is None or age >= self.min_years) and (self.max_years is None or age <= self.max_years)
        return Outcome(MET if ok else UNMET, ({"type": "age", "value": age, "as_of": as_of.isoformat()},),
                       f"age about {age} at {as_of.isoformat()}", self.name)
