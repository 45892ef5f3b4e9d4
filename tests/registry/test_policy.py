"""The promotion policy is data per model kind (models/promotion.yaml)."""

from __future__ import annotations

import pytest

from medkb.registry import POLICY_FILE, GatePolicy, PolicyError, gate


def test_the_repository_file_holds_the_ner_policy():
    policy = GatePolicy.load(kind="ner")
    assert policy.types == ("Chemical", "Disease")
    assert policy.margin > 0 and policy.min_f1 > 0


def test_a_kind_without_a_section_names_the_kind_and_the_file(tmp_path):
    path = tmp_path / "promotion.yaml"
    path.write_text("ner:\n  margin: 0.3\n")
    with pytest.raises(PolicyError, match=r"no promotion policy for model kind 're'.*add a `re:` section"):
        GatePolicy.load(path, kind="re")
    path.write_text("ner:\n  margins: 0.3\n")
    with pytest.raises(PolicyError, match="unknown keys"):
        GatePolicy.load(path, kind="ner")


def test_the_policy_names_the_types_the_gate_checks(tmp_path):
    path = tmp_path / "promotion.yaml"
    path.write_text("re:\n  margin: 0.5\n  tolerance: 1.0\n  min_f1: 50\n  types: [INDUCES]\n")
    policy = GatePolicy.load(path, kind="re")
    champion = {"micro": {"f1": 60.0}, "INDUCES": {"f1": 60.0}}
    ok, reasons = gate({"micro": {"f1": 61.0}, "INDUCES": {"f1": 58.0}}, champion, policy)
    assert not ok and any("INDUCES F1 drops 2.00" in r for r in reasons)
    assert gate({"micro": {"f1": 61.0}, "INDUCES": {"f1": 60.5}}, champion, policy)[0] is True


def test_medkb_promotion_policy_replaces_the_file_unless_a_path_is_given(tmp_path, monkeypatch):
    path = tmp_path / "trial.yaml"
    path.write_text("ner:\n  margin: -100\n  tolerance: 100\n  min_f1: 0\n")
    monkeypatch.setenv("MEDKB_PROMOTION_POLICY", str(path))
    assert GatePolicy.load(kind="ner") == GatePolicy(margin=-100.0, tolerance=100.0, min_f1=0.0)
    assert GatePolicy.load(POLICY_FILE, kind="ner").min_f1 > 0  # an explicit path wins
    monkeypatch.setenv("MEDKB_PROMOTION_POLICY", "")  # empty: the repository's file
    assert GatePolicy.load(kind="ner") == GatePolicy.load(POLICY_FILE, kind="ner")
