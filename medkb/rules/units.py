"""Units: every observation value is converted to its code's canonical UCUM unit before a rule reads it.

Parsing and conversion go through `ucumvert` (UCUM grammar) and `pint` (the arithmetic), never a
hand-written factor table. Building the registry takes seconds, so there is one per process, and
each (from, to) conversion is worked out once. A unit that cannot be parsed or converted is not an
exception for the batch: the observation keeps its raw value, carries the reason, and a rule that
needs it is reported as not evaluable.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

LIBRARY = Path(__file__).resolve().parent / "library"
_lock = threading.Lock()
_registry: Any = None


def registry() -> Any:
    """The process's ucumvert/pint registry (built on first use: a few seconds)."""
    global _registry
    with _lock:
        if _registry is None:
            from ucumvert import PintUcumRegistry

            _registry = PintUcumRegistry()
    return _registry


@lru_cache(maxsize=1)
def canonical_units() -> dict[str, str]:
    """LOINC code -> the UCUM unit rules use for it (library/units.yaml)."""
    data = yaml.safe_load((LIBRARY / "units.yaml").read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in (data.get("loinc") or {}).items()}


@dataclass(frozen=True)
class Converted:
    value: float | None
    unit: str | None
    error: str | None = None  # why the value could not be brought to the canonical unit


class UnitError(ValueError):
    """A UCUM unit that does not parse, or two units that do not convert into each other."""


def _annotation_only(unit: str) -> bool:
    return unit.startswith("{") and unit.endswith("}")


@lru_cache(maxsize=4096)
def _converter(src: str, dst: str) -> tuple[float, float] | str:
    """(factor, offset) so that dst = src * factor + offset; or the reason it cannot convert."""
    if src == dst:
        return (1.0, 0.0)
    if _annotation_only(src) or _annotation_only(dst):
        return f"unit {src!r} cannot be converted to {dst!r} (an annotation is not a unit)"
    ureg = registry()
    try:
        q_src, q_dst = ureg.from_ucum(src), ureg.from_ucum(dst)
    except Exception as exc:  # ucumvert raises its own parse errors and pint's
        bad = src if not _parses(src) else dst
        return f"unit {bad!r} is not valid UCUM ({type(exc).__name__})"
    try:  # Quantity(v, units), not v * quantity: offset units (Cel) refuse multiplication
        scale = float(getattr(q_src, "magnitude", 1.0)) / float(getattr(q_dst, "magnitude", 1.0))
        units_src, units_dst = getattr(q_src, "units", q_src), getattr(q_dst, "units", q_dst)
        zero = ureg.Quantity(0.0, units_src).to(units_dst).magnitude
        one = ureg.Quantity(scale, units_src).to(units_dst).magnitude
    except Exception as exc:
        return f"unit {src!r} cannot be converted to {dst!r} ({type(exc).__name__}: different dimensions)"
    return (float(one - zero), float(zero))


def _parses(unit: str) -> bool:
    try:
        registry().from_ucum(unit)
    except Exception:
        return False
    return True


def convert(value: float, src: str, dst: str) -> float:
    """`value` in `src` expressed in `dst`; raises UnitError naming both units."""
    conv = _converter(src, dst)
    if isinstance(conv, str):
        raise UnitError(conv)
    factor, offset = conv
    return value * factor + offset


def normalise(loinc: str | None, value: float | None, unit: str | None) -> Converted:
    """The value in the canonical unit for its LOINC code; codes without one keep their unit."""
    target = canonical_units().get(loinc or "")
    if value is None or target is None:
        return Converted(value, unit)
    if not unit:
        return Converted(None, None, f"no unit given; expected {target!r}")
    conv = _converter(unit, target)
    if isinstance(conv, str):
        return Converted(None, None, conv)
    factor, offset = conv
    return Converted(value * factor + offset, target)


def check_unit(unit: str) -> str | None:
    """None when `unit` is valid UCUM, else the reason (used when rule files are loaded)."""
    if _annotation_only(unit) or _parses(unit):
        return None
    return f"{unit!r} is not a valid UCUM unit"
