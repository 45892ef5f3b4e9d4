"""`medkb kb seed | rollback | dump` end to end on the test graph."""

from __future__ import annotations

import json

import pytest

from medkb.cli import main
from medkb.kb.loader import load_extractions
from medkb.nlp.extracted import ExtractedAssertion

pytestmark = pytest.mark.integration


def test_seed_dump_rollback(graph, capsys):
    assert main(["kb", "seed", "--only", "icd", "--icd-prefix", "E11.9"]) == 0
    out = capsys.readouterr().out
    assert "icd10cm\t" in out and "[:IS_A]" in out
    assert main(["kb", "dump"]) == 0
    seeded = json.loads(capsys.readouterr().out)
    assert seeded["labels"]["Disease"] >= 4 and len(seeded["sha256"]) == 64

    evidence = ExtractedAssertion("MESH:D1", "INDUCES", "ICD10CM:E11.9", 0.9, "PMID:1", "s.", 0, 2, "m")
    load_extractions(graph, [], [evidence], "R1", as_of="2026-11-01")
    assert main(["kb", "rollback", "R1"]) == 0
    assert "rolled back R1" in capsys.readouterr().out
    main(["kb", "dump"])
    assert json.loads(capsys.readouterr().out) == seeded

    assert main(["kb", "rollback", "nope"]) == 1
    assert "not in the graph" in capsys.readouterr().err
