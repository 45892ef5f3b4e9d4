"""Shipped releases: cut from the registry, verified against the manifest, imported into the real
Postgres registry once, corrupted files refused by name; the shipped champion's manifest holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medkb.registry import release, store
from medkb.registry.release import ReleaseError

pytestmark = pytest.mark.integration


def tiny_model(root: Path, name: str, micro: float = 80.0) -> Path:
    """A real (tiny, randomly initialised) BERT token classifier saved as safetensors."""
    from transformers import BertConfig, BertForTokenClassification

    d = root / name
    cfg = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, num_labels=5)
    BertForTokenClassification(cfg).save_pretrained(d)
    (d / "checkpoint-last").mkdir()
    (d / "checkpoint-last" / "model.safetensors").write_bytes(b"not shipped")
    scores = {"micro": {"f1": micro, "p": micro, "r": micro}, "Chemical": {"f1": micro, "p": 0, "r": 0},
              "Disease": {"f1": micro, "p": 0, "r": 0}, "confusion": {}}
    (d / "metrics.json").write_text(json.dumps({"primary": "dev.txt", "dev": {"dev.txt": scores}}))
    (d / "medkb.json").write_text(json.dumps({"config": {"train": ["a.txt"]}, "best_epoch": 1, "history": []}))
    (d / "lexicon.tsv").write_text("aspirin\tChemical\tMESH:D001241\n")
    return d


@pytest.fixture
def reg(tmp_path, monkeypatch, settings):
    monkeypatch.setenv("MEDKB_MODEL_REGISTRY", str(tmp_path / "registry"))
    return tmp_path


@pytest.fixture
def cut(pg, settings, reg) -> Path:
    store.register(pg, tiny_model(reg, "src"), settings, version="ner-t-1")
    store.promote(pg, "ner-t-1")
    return release.cut_release(pg, "ner-t-1", root=reg / "releases").path


def test_cut_release_ships_bf16_weights_and_a_manifest_of_every_file(cut):
    from safetensors import safe_open

    manifest = json.loads((cut / release.MANIFEST).read_text())
    assert manifest["version"] == "ner-t-1" and manifest["kind"] == "ner" and manifest["serving"] is True
    assert {"model.safetensors", "config.json", "metrics.json", "medkb.json", "lexicon.tsv", "promotion.json",
            "MODEL_CARD.md"} <= set(manifest["files"])
    assert not any(n.startswith("checkpoint") for n in manifest["files"])
    with safe_open(str(cut / "model.safetensors"), "pt") as fh:
        assert {str(fh.get_tensor(k).dtype) for k in fh.keys() if "embeddings" in k} == {"torch.bfloat16"}
    promo = json.loads((cut / "promotion.json").read_text())
    assert promo["decisions"][0]["action"] == "promote"


def test_import_registers_and_promotes_once(pg, settings, reg, cut):
    pg.cursor().execute("TRUNCATE model_registry, model_decisions CASCADE")
    record, imported = release.import_release(pg, settings, cut)
    assert imported and record.status == "champion" and Path(record.path).parent == reg / "registry"
    assert (Path(record.path) / "model.safetensors").read_bytes() == (cut / "model.safetensors").read_bytes()
    reasons = store.decisions(pg, "ner-t-1")[-1]["reasons"]
    assert any("shipped release" in r for r in reasons)
    before = store.decisions(pg, kind="ner")
    record2, imported2 = release.import_release(pg, settings, cut)
    assert not imported2 and record2 == record and store.decisions(pg, kind="ner") == before


@pytest.mark.parametrize("damage", ["truncate", "flip", "remove", "extra"])
def test_a_damaged_release_is_refused_naming_the_file(pg, settings, reg, cut, damage):
    pg.cursor().execute("TRUNCATE model_registry, model_decisions CASCADE")
    weights = cut / "model.safetensors"
    data = weights.read_bytes()
    if damage == "truncate":
        weights.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        weights.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    elif damage == "remove":
        weights.unlink()
    else:
        (cut / "notes.txt").write_text("?")
    with pytest.raises(ReleaseError, match="notes.txt" if damage == "extra" else "model.safetensors"):
        release.import_release(pg, settings, cut)
    assert store.champion(pg, "ner") is None


def test_ensure_shipped_models_imports_only_when_the_kind_has_no_champion(pg, settings, reg, cut):
    pg.cursor().execute("TRUNCATE model_registry, model_decisions CASCADE")
    assert release.ensure_shipped_models(settings, pg, root=reg / "releases") == ["ner-t-1"]
    assert release.ensure_shipped_models(settings, pg, root=reg / "releases") == []


@pytest.mark.parametrize("shipped", release.releases(), ids=lambda r: r.version)
def test_every_shipped_release_matches_its_manifest(shipped):
    assert release.verify(shipped.path).total_bytes <= release.MAX_RELEASE_BYTES


def test_one_serving_release_of_each_kind_is_shipped():
    serving = [r.kind for r in release.releases() if r.serving]
    assert "ner" in serving and len(serving) == len(set(serving))
