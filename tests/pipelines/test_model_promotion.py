"""After a promotion: re-extraction follows the champion, unless the dictionary is chosen on purpose."""

from __future__ import annotations

import dataclasses
import logging

from medkb.pipelines import model_promotion


def test_reextraction_is_skipped_when_the_dictionary_serves(settings, caplog, monkeypatch):
    pinned = dataclasses.replace(settings, extractor="dictionary")

    def must_not_run(*_a, **_k):
        raise AssertionError("re-extraction ran although the dictionary extractor serves")

    monkeypatch.setattr("medkb.pipelines.reextract.reextract", must_not_run)
    with caplog.at_level(logging.WARNING, logger="medkb.pipelines.model_promotion"):
        out = model_promotion.reextract_recent(pinned, "ner-20990101-1", 30)
    assert out == {"skipped": "MEDKB_EXTRACTOR=dictionary", "model": "ner-20990101-1"}
    assert "re-extraction skipped" in caplog.text and "ner-20990101-1" in caplog.text
