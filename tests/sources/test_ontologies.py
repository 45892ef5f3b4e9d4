"""The HPO readers, on small known files and (when cached) the real ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from medkb.sources.ontologies import OntologyError, read_hpoa, read_obo

FIXTURES = Path(__file__).parents[1] / "fixtures" / "hpo"
OBO = (FIXTURES / "hp.obo").read_text()
HPOA = (FIXTURES / "phenotype.hpoa").read_text()



def test_read_obo(tmp_path: Path):
    path = tmp_path / "hp.obo"
    path.write_text(OBO)
    terms = list(read_obo(path))
    assert [t.id for t in terms] == ["HP:0000001", "HP:0001250"]  # obsolete and Typedef left out
    seizure = terms[1]
    assert seizure.definition == 'A seizure is an "intermittent" abnormality.'
    assert seizure.synonyms == ("Epilepsy", "Seizures")
    assert seizure.parents == ("HP:0000001",)
    assert seizure.xrefs == ("UMLS:C0036572", "ORPHA:1")
    assert seizure.version == "hp/releases/2025-01-16"


def test_read_hpoa(tmp_path: Path):
    path = tmp_path / "phenotype.hpoa"
    path.write_text(HPOA)
    rows = list(read_hpoa(path))
    assert [(r.disease_id, r.hpo_id, r.negated, r.frequency) for r in rows] == [
        ("OMIM:1", "HP:0001250", False, "1/2"), ("OMIM:1", "HP:0000001", True, "")]
    assert rows[0].version == "2025-01-16"
    path.write_text(HPOA + "OMIM:2\tbroken\n")
    with pytest.raises(OntologyError, match="phenotype.hpoa:6: 2 columns"):
        list(read_hpoa(path))
