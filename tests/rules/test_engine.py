"""Criteria, combinators, units and explanations on cases built in code."""

from __future__ import annotations

from datetime import date

import pytest

from medkb.rules.engine import evaluate_case
from medkb.rules.ruleset import load_rulesets
from medkb.rules.units import convert, normalise

from .factories import case, coded, obs


@pytest.fixture(scope="module")
def rules():
    return load_rulesets(strict=True)


def test_units_are_converted_by_ucum_not_by_a_table():
    assert normalise("718-7", 115.0, "g/L").value == pytest.approx(11.5)
    assert normalise("718-7", 11.5, "g/dL").unit == "g/dL"
    assert convert(37.0, "Cel", "[degF]") == pytest.approx(98.6)
    bad = normalise("718-7", 7.1, "mmol/L")
    assert bad.value is None and "cannot be converted" in bad.error
    assert "not valid UCUM" in normalise("718-7", 7.1, "gram//dl").error


def test_anaemia_in_grams_per_litre_is_found_and_explained(rules):
    c = case([obs("718-7", 14.0, "g/dL", "2020-01-01"), obs("718-7", 105.0, "g/L", "2023-05-02")])
    ev = evaluate_case(c, rules)
    s = {s.key: s for s in ev.suggestions}["rule:anaemia"]
    assert s.codes == {"snomed": "271737000", "icd10cm": "D64.9"}
    fact = next(f for f in s.explanation["facts"] if f["type"] == "observation")
    assert fact["value"] == pytest.approx(10.5) and fact["unit"] == "g/dL" and fact["raw_unit"] == "g/L"
    assert fact["at"].startswith("2023-05-02")
    assert s.explanation["source"] == {"kind": "rule", "id": "anaemia", "version": 2, "ruleset": rules.version}
    assert "10.5 g/dL on 2023-05-02" in s.text and "recommendation" in s.text


def test_a_unit_that_does_not_convert_makes_the_rule_not_evaluable(rules):
    c = case([obs("718-7", 6.5, "mmol/L", "2023-05-02")])
    ev = evaluate_case(c, rules)
    assert "rule:anaemia" not in {s.key for s in ev.suggestions}
    reason = {n.rule_id: n.reason for n in ev.not_evaluable}["anaemia"]
    assert "mmol/L" in reason and "does not convert" in reason
    assert any("unit that does not convert" in n for n in ev.notes)


def test_a_case_with_no_observations_says_so(rules):
    ev = evaluate_case(case([], key="empty-case-1234"), rules)
    assert ev.suggestions == () and any("no observations" in n and "empty-case-1" in n for n in ev.notes)
    assert {"anaemia", "ckd"} <= {n.rule_id for n in ev.not_evaluable}


def test_ckd_needs_two_low_egfr_readings_90_days_apart(rules):
    unit = "mL/min/{1.73_m2}"
    close = case([obs("33914-3", 50, unit, "2023-01-01"), obs("33914-3", 52, unit, "2023-02-01")])
    apart = case([obs("33914-3", 50, unit, "2023-01-01"), obs("33914-3", 52, unit, "2023-06-01")])
    assert "rule:ckd" not in {s.key for s in evaluate_case(close, rules).suggestions}
    s = {s.key: s for s in evaluate_case(apart, rules).suggestions}["rule:ckd"]
    assert len([f for f in s.explanation["facts"] if f["type"] == "observation"]) >= 2
    # a later normal eGFR says the low readings were acute (ckd v2)
    recovered = case([obs("33914-3", 50, unit, "2023-01-01"), obs("33914-3", 52, unit, "2023-06-01"),
                      obs("33914-3", 95, unit, "2024-01-01")])
    assert "rule:ckd" not in {s.key for s in evaluate_case(recovered, rules).suggestions}


def test_ckd_raised_creatinine_on_a_day_with_normal_egfr_same_day_criterion(rules):
    unit = "mL/min/{1.73_m2}"
    same = case([obs("2160-0", 1.6, "mg/dL", "2023-03-01T09:00:00"), obs("33914-3", 95, unit, "2023-03-01T09:05:00")])
    other_day = case([obs("2160-0", 1.6, "mg/dL", "2023-03-01"), obs("33914-3", 95, unit, "2023-04-01")])
    normal = case([obs("2160-0", 1.0, "mg/dL", "2023-03-01"), obs("33914-3", 95, unit, "2023-03-01")])
    s = {s.key: s for s in evaluate_case(same, rules).suggestions}["rule:ckd"]
    assert {f.get("loinc") for f in s.explanation["facts"] if f["type"] == "observation"} >= {"2160-0", "33914-3"}
    for c in (other_day, normal):
        assert "rule:ckd" not in {s.key for s in evaluate_case(c, rules).suggestions}


def test_not_inverts_and_any_takes_the_first_met_branch(tmp_path):
    (tmp_path / "r.yaml").write_text("""
rules:
  - id: no-statin-high-ldl
    version: 1
    diagnosis: {name: Hyperlipidaemia, snomed: "55822004", icd10cm: E78.5}
    strength: possible
    recommendation: Consider a statin.
    when:
      all:
        - not: {kind: medkb.rule.medication.v1, ingredients: [simvastatin]}
        - any:
            - {kind: medkb.rule.latest.v1, loinc: "2093-3", op: ">=", value: 240, unit: mg/dL}
            - {kind: medkb.rule.trend.v1, loinc: "2093-3", op: ">", value: 10, unit: mg/dL, window_days: 2000}
""", encoding="utf-8")
    rs = load_rulesets([tmp_path], strict=True)
    rising = [obs("2093-3", v, "mg/dL", d) for v, d in ((180, "2020-01-01"), (200, "2021-01-01"), (225, "2022-01-01"))]
    assert [s.key for s in evaluate_case(case(rising), rs).suggestions] == ["rule:no-statin-high-ldl"]
    treated = rising + [coded("MedicationRequest", "rxnorm", "312961", "Simvastatin 20 MG Oral Tablet", "2019-06-01")]
    assert evaluate_case(case(treated), rs).suggestions == ()


def test_readings_after_the_reference_date_are_not_read(rules):
    c = case([obs("718-7", 14.0, "g/dL", "2020-01-01"), obs("718-7", 9.0, "g/dL", "2024-01-01")])
    assert "rule:anaemia" not in {s.key for s in evaluate_case(c, rules, as_of=date(2021, 1, 1)).suggestions}


def test_hypertriglyceridaemia_needs_diabetes_seen_again_since(rules):
    tg = obs("2571-8", 180, "mg/dL", "2022-03-01")
    staged_then_seen = case([tg, obs("4548-4", 7.1, "%", "2021-01-01"), obs("4548-4", 6.0, "%", "2023-01-01")])
    s = {s.key: s for s in evaluate_case(staged_then_seen, rules).suggestions}["rule:hypertriglyceridaemia"]
    dates = {f["at"][:10] for f in s.explanation["facts"] if f["type"] == "observation"}
    assert {"2022-03-01", "2021-01-01", "2023-01-01"} <= dates  # the later review is cited too
    last_review_staged = case([tg, obs("4548-4", 6.0, "%", "2021-01-01"), obs("4548-4", 7.1, "%", "2023-01-01")])
    prediabetic = case([tg, obs("4548-4", 6.2, "%", "2021-01-01"), obs("4548-4", 6.4, "%", "2023-01-01")])
    normal_tg = case([obs("2571-8", 120, "mg/dL", "2022-03-01"), obs("4548-4", 7.1, "%", "2021-01-01"),
                      obs("4548-4", 7.0, "%", "2023-01-01")])
    for c in (last_review_staged, prediabetic, normal_tg):
        assert "rule:hypertriglyceridaemia" not in {s.key for s in evaluate_case(c, rules).suggestions}


def test_ckd_counts_only_egfr_indexed_to_body_surface(rules):
    indexed, plain = "mL/min/{1.73_m2}", "mL/min"
    low_indexed = case([obs("33914-3", 40, indexed, "2023-01-01"), obs("33914-3", 42, indexed, "2023-06-01")])
    low_plain = case([obs("33914-3", 12, plain, "2023-01-01"), obs("33914-3", 9, plain, "2023-06-01")])
    assert "rule:ckd" in {s.key for s in evaluate_case(low_indexed, rules).suggestions}
    ev = evaluate_case(low_plain, rules)
    assert "rule:ckd" not in {s.key for s in ev.suggestions}
    assert "ckd" in {n.rule_id for n in ev.not_evaluable}  # no indexed reading at all: said, not guessed


def test_a_statin_started_after_a_p2y12_inhibitor_is_secondary_prevention(rules):
    def statin_case(*meds):
        return case([coded("MedicationRequest", "rxnorm", code, name, when) for code, name, when in meds])

    after_mi = statin_case(("309362", "clopidogrel 75 MG Oral Tablet", "2020-03-01"),
                           ("259255", "atorvastatin 80 MG Oral Tablet", "2020-03-02"))
    primary = statin_case(("314231", "Simvastatin 10 MG Oral Tablet", "2018-05-01"))
    both = statin_case(("314231", "Simvastatin 10 MG Oral Tablet", "2018-05-01"),
                       ("309362", "clopidogrel 75 MG Oral Tablet", "2020-03-01"),
                       ("259255", "atorvastatin 80 MG Oral Tablet", "2020-03-02"))
    ev = evaluate_case(after_mi, rules)
    assert "rule:hyperlipidaemia" not in {s.key for s in ev.suggestions}
    for c in (primary, both):
        s = {s.key: s for s in evaluate_case(c, rules).suggestions}["rule:hyperlipidaemia"]
        assert any("Simvastatin" in str(f) for f in s.explanation["facts"])
