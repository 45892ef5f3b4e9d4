from __future__ import annotations

import logging

import pytest

from medkb import nightly
from medkb.db.postgres import fetch_all
from medkb.sources.records import Citation
from medkb.staging import documents as staged
from medkb.training.serving import NO_CHAMPION

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


def test_nightly_extract_without_champion_uses_dictionary_and_is_idempotent(pg, settings, caplog, monkeypatch, tmp_path):
    monkeypatch.setenv("MEDKB_MODEL_REGISTRY", str(tmp_path))
    stage(pg)
    with caplog.at_level(logging.WARNING):
        counts = nightly.extract_literature(settings, "run-x", batch_size=2)
    assert NO_CHAMPION in caplog.text
    assert counts["extracted"] == 3 and counts["model"] == "dictionary-v1" and counts["mentions"] > 3
    assert staged.count_by_state(pg).get("extracted") == 3
    mentions = fetch_all(pg, "SELECT doc_id, text, type, concept_id FROM extracted_mentions ORDER BY doc_id, start_off")
    assert ("PMID:1002", "Cocaine", "Chemical") in {(m["doc_id"], m["text"], m["type"]) for m in mentions}
    assertions = fetch_all(pg, "SELECT doc_id, subject_id, object_id FROM extracted_assertions")
    assert any(a["doc_id"] == "PMID:1002" for a in assertions)
    # a re-run of the night re-extracts nothing new and the rows stay the same
    staged.advance_state(pg, "extracted", "validated")
    pg.commit()
    nightly.extract_literature(settings, "run-x", batch_size=2)
    again = fetch_all(pg, "SELECT doc_id, text, type, concept_id FROM extracted_mentions ORDER BY doc_id, start_off")
    assert again == mentions
