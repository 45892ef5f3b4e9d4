"""Small cases built in code, for the rule tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from medkb.rules.case import Case, build_case


def obs(code: str, value: float | None, unit: str | None, when: str, key: str | None = None) -> dict[str, Any]:
    return {"record_key": key or f"o-{code}-{when}-{value}", "version": 1, "resource_type": "Observation",
            "code_system": "loinc", "code": code, "display": f"loinc {code}", "value": value, "unit": unit,
            "effective_at": when, "content_hash": f"h-{code}-{when}-{value}-{unit}"}


def coded(rtype: str, system: str, code: str, display: str, when: str) -> dict[str, Any]:
    return {"record_key": f"{rtype}-{code}-{when}", "version": 1, "resource_type": rtype, "code_system": system,
            "code": code, "display": display, "effective_at": when, "content_hash": f"h-{code}-{when}"}


def case(records: list[dict[str, Any]], gender: str = "female", birth_year: int = 1960, key: str = "case-a") -> Case:
    return build_case({"source": "fhir", "case_key": key, "gender": gender, "birth_year": birth_year,
                       "content_hash": "c"}, records)


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
