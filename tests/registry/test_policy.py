"""The promotion policy is data per model kind (models/promotion.yaml)."""

from __future__ import annotations

import pytest

from medkb.registry import GatePolicy, PolicyError, gate


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
