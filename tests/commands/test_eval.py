from __future__ import annotations

import json

from medkb.cli import main
from medkb.training.lexicon import DEV_FILES


def test_eval_json_has_the_documented_shape(capsys):
    rc = main(["eval", "ner", "dictionary", "--corpus", str(DEV_FILES[0]), "--json", "--limit", "5"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("micro", "Chemical", "Disease", "normalisation"):
        assert set(out[key]) >= {"p", "r", "f1"}
        assert 0 <= out[key]["f1"] <= 100
    assert out["docs"] == 5 and out["model"] == "dictionary-v1"
    assert set(out["confusion"]) == {"boundary", "type", "missed", "spurious"}


def test_missing_corpus_is_one_clear_error(capsys):
    rc = main(["eval", "ner", "dictionary", "--corpus", "/nope/x.PubTator.txt"])
    assert rc == 1
    assert "corpus /nope/x.PubTator.txt not found" in capsys.readouterr().err
