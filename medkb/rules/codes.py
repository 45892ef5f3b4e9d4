"""Checks for the codes rule files name: a typo in a code would make a rule silently never fire.

LOINC and SNOMED CT carry check digits (LOINC: mod 10, SNOMED: Verhoeff), so a mistyped code is
caught here, not only a malformed one. ICD-10-CM codes are looked up in `simple-icd-10-cm`.
"""

from __future__ import annotations

import re
from functools import lru_cache

_LOINC = re.compile(r"^(\d{1,7})-(\d)$")
_SNOMED = re.compile(r"^\d{6,18}$")
_HPO = re.compile(r"^HP:\d{7}$")
_RXNORM = re.compile(r"^\d{1,8}$")

_VERHOEFF_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_VERHOEFF_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]


def _luhn_ok(number: str, check: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return (10 - total % 10) % 10 == int(check)


def _verhoeff_ok(number: str) -> bool:
    c = 0
    for i, ch in enumerate(reversed(number)):
        c = _VERHOEFF_D[c][_VERHOEFF_P[i % 8][int(ch)]]
    return c == 0


def loinc_error(code: str) -> str | None:
    m = _LOINC.match(code)
    if not m:
        return f"LOINC code {code!r} is malformed (expected digits-checkdigit, e.g. 718-7)"
    if not _luhn_ok(m.group(1), m.group(2)):
        return f"LOINC code {code!r} fails its check digit (a typo?)"
    return None


def snomed_error(code: str) -> str | None:
    if not _SNOMED.match(code):
        return f"SNOMED CT code {code!r} is malformed (expected 6-18 digits)"
    if not _verhoeff_ok(code):
        return f"SNOMED CT code {code!r} fails its Verhoeff check digit (a typo?)"
    return None


@lru_cache(maxsize=4096)
def icd10cm_error(code: str) -> str | None:
    import simple_icd_10_cm as icd

    if not icd.is_valid_item(code):
        return f"ICD-10-CM code {code!r} is not in ICD-10-CM (simple-icd-10-cm {getattr(icd, '__version__', '')})"
    return None


def hpo_error(code: str) -> str | None:
    return None if _HPO.match(code) else f"HPO id {code!r} is malformed (expected HP:0000000)"


def rxnorm_error(code: str) -> str | None:
    return None if _RXNORM.match(code) else f"RxNorm code {code!r} is malformed (expected digits)"
