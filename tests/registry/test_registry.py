from __future__ import annotations

import json
from pathlib import Path

import pytest

from medkb import registry
from medkb.registry import GatePolicy, RegistryError, gate

pytestmark = pytest.mark.integration
POLICY = GatePolicy(margin=0.5, tolerance=1.0, min_f1=70.0)


def scores(micro: float, chem: float, dis: float) -> dict:
    return {"micro": {"f1": micro, "p": micro, "r": micro}, "Chemical": {"f1": chem, "p": 0, "r": 0},
            "Disease": {"f1": dis, "p": 0, "r": 0}, "confusion": {}}


def model_dir(root: Path, name: str, micro: float, chem: float, dis: float) -> Path:
    d = root / name
    d.mkdir()
    (d / "metrics.json").write_text(json.dumps({"primary": "dev.txt", "dev": {"dev.txt": scores(micro, chem, dis)}}))
    (d / "medkb.json").write_text(json.dumps({"config": {"train": ["a.txt"]}, "best_epoch": 1, "history": []}))
    return d


@pytest.fixture
def reg(tmp_path, monkeypatch, settings):
    monkeypatch.setenv("MEDKB_MODEL_REGISTRY", str(tmp_path / "registry"))
    return tmp_path


def test_gate_rules():
    assert gate(scores(69, 70, 68), None, POLICY)[0] is False
    assert gate(scores(71, 70, 72), None, POLICY)[0] is True
    ok, reasons = gate(scores(82, 86, 78), scores(81, 85, 77), POLICY)
    assert ok and "gain +1.00" in reasons[0]
    assert gate(scores(81.3, 85, 77), scores(81, 85, 77), POLICY)[0] is False  # below the margin
    ok, reasons = gate(scores(83, 88, 75), scores(81, 85, 77), POLICY)
    assert not ok and any("Disease F1 drops 2.00" in r for r in reasons)
    # better on the primary dev file, but another dev file falls: rejected, and the reason says which
    ok, reasons = gate(scores(83, 86, 78), scores(81, 85, 77), POLICY, {"ncbi.txt": (62.1, 81.8)})
    assert not ok and any("ncbi.txt micro F1 drops 19.70 (81.80 -> 62.10)" in r for r in reasons)
    assert gate(scores(83, 86, 78), scores(81, 85, 77), POLICY, {"ncbi.txt": (81.2, 81.8)})[0] is True


def test_register_promote_reject_rollback(pg, settings, reg):
    first = registry.register(pg, model_dir(reg, "a", 60, 62, 58), settings, version="ner-t-1")
    assert first.status == "challenger" and Path(first.path, "MODEL_CARD.md").exists()
    d = registry.promote(pg, "ner-t-1", POLICY)
    assert not d.promote and "minimum bar" in d.reasons[0]
    registry.register(pg, model_dir(reg, "b", 75, 78, 72), settings, version="ner-t-2")
    assert registry.promote(pg, "ner-t-2", POLICY).promote
    third = registry.register(pg, model_dir(reg, "c", 80, 84, 76), settings, version="ner-t-3")
    assert third.parent == "ner-t-2"
    assert registry.promote(pg, "ner-t-3", POLICY).promote
    assert registry.champion(pg).version == "ner-t-3"
    assert registry.get(pg, "ner-t-2").status == "retired"
    registry.register(pg, model_dir(reg, "d", 80.2, 84, 76), settings, version="ner-t-4")
    assert not registry.promote(pg, "ner-t-4", POLICY).promote
    actions = [r["action"] for r in registry.decisions(pg)]
    assert actions == ["reject", "promote", "promote", "reject"]
    back = registry.rollback(pg)
    assert back.version == "ner-t-2" and registry.champion(pg).version == "ner-t-2"
    assert registry.get(pg, "ner-t-3").status == "retired"


def test_register_twice_is_idempotent(pg, settings, reg):
    src = model_dir(reg, "x", 75, 78, 72)
    registry.register(pg, src, settings, version="ner-t-9")
    registry.register(pg, src, settings, version="ner-t-9")
    assert [m.version for m in registry.list_models(pg)] == ["ner-t-9"]


def test_errors_name_the_version(pg):
    with pytest.raises(RegistryError, match="ner-nope"):
        registry.get(pg, "ner-nope")
    with pytest.raises(RegistryError, match="no ner champion"):
        registry.rollback(pg)


def test_rescore_updates_the_registered_metrics(pg, settings, reg, capsys):
    from medkb.cli import main
    from medkb.training.config import NerConfig
    from medkb.training.finetune import train_ner
    from medkb.training.lexicon import DEV_FILES, TRAIN_FILES

    cfg = NerConfig.from_dict({"train": [str(TRAIN_FILES[0])], "dev": [str(DEV_FILES[0])], "num_layers": 1,
                               "epochs": 1, "limit_docs": 3, "limit_dev_docs": 3, "max_tokens": 32, "lr": 5e-4})
    out = train_ner(cfg, reg / "m", threads=2).output_dir
    stale = json.loads((out / "metrics.json").read_text())
    stale["dev"][DEV_FILES[0].name]["micro"]["f1"] = 1.0  # as if scored by an older decoder
    (out / "metrics.json").write_text(json.dumps(stale))
    registry.register(pg, out, settings, version="ner-t-7")
    pg.commit()  # the CLI reads through its own connection
    assert main(["model", "rescore", "ner-t-7"]) == 0
    assert "dev micro F1 1.00 ->" in capsys.readouterr().out
    assert registry.get(pg, "ner-t-7").primary_scores()["micro"]["f1"] != 1.0


def test_two_trainings_started_together_get_different_versions(pg, settings, reg):
    first = registry.reserve_version(pg, settings)
    second = registry.reserve_version(pg, settings)  # the first is not registered yet
    assert first != second and first.is_dir() and second.is_dir()
    assert int(second.name.rsplit("-", 1)[1]) == int(first.name.rsplit("-", 1)[1]) + 1


def test_the_promote_command_gates_a_version_by_its_own_kind(pg, settings, reg):
    """An `re` model at micro F1 60 passes the `re` policy's bar (50) though it is under NER's (75)."""
    from medkb.cli import main

    registry.register(pg, model_dir(reg, "r", 60, 60, 60), settings, version="re-t-1", kind="re")
    pg.commit()
    assert main(["model", "promote", "re-t-1"]) == 0
    assert registry.champion(pg, "re").version == "re-t-1"


def test_a_directory_registers_as_its_own_kind(pg, settings, reg, capsys):
    from medkb.cli import main

    d = model_dir(reg, "re-dir", 60, 0, 0)
    meta = json.loads((d / "medkb.json").read_text())
    (d / "medkb.json").write_text(json.dumps({**meta, "kind": "re"}))
    assert main(["model", "register", str(d), "--version", "re-t-1"]) == 0
    assert registry.get(pg, "re-t-1").kind == "re"  # not the NER default
    assert registry.register(pg, model_dir(reg, "ner-dir", 60, 60, 60), settings, version="ner-t-9").kind == "ner"
