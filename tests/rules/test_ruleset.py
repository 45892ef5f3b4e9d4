"""Rule files: the library validates, and each kind of mistake is an error naming file, rule and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from medkb.rules.ruleset import RuleFileError, load_rule_file, load_rulesets

GOOD = """
rules:
  - id: anaemia-test
    version: 1
    diagnosis: {name: Anaemia, snomed: "271737000", icd10cm: D64.9}
    strength: probable
    recommendation: Check iron.
    when:
      all:
        - {kind: medkb.rule.sex.v1, sex: female}
        - {kind: medkb.rule.threshold.v1, loinc: "718-7", op: "<", value: 12, unit: g/dL}
"""


def _write(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_the_library_loads_with_the_starter_set():
    rs = load_rulesets(strict=True)
    ids = {r.id for r in rs.rules}
    assert {"anaemia", "hypertension", "hyperlipidaemia", "hypertriglyceridaemia", "ckd", "obesity",
            "prediabetes", "type-2-diabetes"} <= ids
    assert rs.version.startswith("rules-") and not rs.errors


@pytest.mark.parametrize("bad, words", [
    (GOOD.replace("strength: probable", "strength: probable\n    colour: red"), ["r.yaml", "anaemia-test", "colour", "unknown field"]),
    (GOOD.replace("D64.9", "D64.99"), ["anaemia-test", "diagnosis.icd10cm", "not in ICD-10-CM"]),
    (GOOD.replace('"271737000"', '"271737001"'), ["anaemia-test", "diagnosis.snomed", "check digit"]),
    (GOOD.replace('"718-7"', '"718-6"'), ["anaemia-test", "loinc", "check digit"]),
    (GOOD.replace("value: 12", "value: twelve"), ["anaemia-test", "value", "number"]),
    (GOOD.replace("unit: g/dL", "unit: g/L"), ["anaemia-test", "normalised to 'g/dL'"]),
    (GOOD.replace("medkb.rule.threshold.v1", "medkb.rule.threshold.v9"), ["anaemia-test", "not a known criterion"]),
    (GOOD.replace("value: 12, unit: g/dL}", "value: 12, unit: g/dL, valu: 3}"), ["anaemia-test", "valu", "unknown field"]),
    # the same-day criterion's nested reading is checked like any other (unit, unknown field)
    (GOOD.replace("medkb.rule.threshold.v1", "medkb.rule.same_day.v1").replace(
        "unit: g/dL}", 'unit: g/dL, with_reading: {loinc: "2160-0", op: ">=", value: 1.4, unit: mg/L}}'),
     ["anaemia-test", "with_reading", "normalised to 'mg/dL'"]),
    (GOOD.replace("medkb.rule.threshold.v1", "medkb.rule.same_day.v1").replace(
        "unit: g/dL}", 'unit: g/dL, with_reading: {loinc: "2160-0", op: ">=", value: 1.4, unit: mg/dL, kind: x}}'),
     ["anaemia-test", "with_reading.kind", "unknown field"]),
])
def test_a_bad_rule_names_file_rule_and_field(tmp_path, bad, words):
    with pytest.raises(RuleFileError) as err:
        load_rule_file(_write(tmp_path, bad))
    for w in words:
        assert w in str(err.value), (w, str(err.value))


def test_a_bad_file_is_reported_and_the_good_ones_still_load(tmp_path):
    _write(tmp_path, GOOD, "a_good.yaml")
    _write(tmp_path, GOOD.replace("anaemia-test", "other").replace("D64.9", "XX"), "b_bad.yaml")
    _write(tmp_path, "rules: [unclosed", "c_broken.yaml")
    rs = load_rulesets([tmp_path])
    assert [r.id for r in rs.rules] == ["anaemia-test"]
    assert len(rs.errors) == 2 and "b_bad.yaml" in rs.errors[0] and "c_broken.yaml" in rs.errors[1]
    with pytest.raises(RuleFileError):
        load_rulesets([tmp_path], strict=True)


def test_the_version_follows_the_content(tmp_path):
    p = _write(tmp_path, GOOD)
    v1 = load_rulesets([p]).version
    assert load_rulesets([p]).version == v1
    p.write_text(GOOD.replace("value: 12", "value: 11.5"), encoding="utf-8")
    assert load_rulesets([p]).version != v1


def test_the_same_rule_id_in_two_files_is_an_error(tmp_path):
    _write(tmp_path, GOOD, "a.yaml")
    _write(tmp_path, GOOD, "b.yaml")
    rs = load_rulesets([tmp_path])
    assert len(rs.rules) == 1 and "already defined in a.yaml" in rs.errors[0]
