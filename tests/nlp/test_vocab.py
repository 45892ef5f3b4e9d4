from __future__ import annotations

from medkb.nlp.vocab import Entry, mesh_entries
from medkb.sources.mesh import MeshConcept


def test_mesh_entries_name_every_typed_concept_and_skip_gene_products():
    entries = mesh_entries([
        MeshConcept("D003042", "Cocaine", ("Cocaine HCl",), ("Chemical",), ()),
        MeshConcept("D000003", "Abattoirs", (), (), ()),  # outside the chemical and disease trees
        MeshConcept("C000002", "bevonium", (), ("Chemical",), ("D001561",)),
        MeshConcept("C088395", "VEZF1 protein, human", ("ZNF161",), ("Chemical",), ("D004268",)),
        MeshConcept("C062848", "parathyroid hormone (3-40), human", (), ("Chemical",), ("D010446",)),
        MeshConcept("D011506", "Proteins", (), ("Chemical",), ()),  # a descriptor is never skipped
        MeshConcept("C536528", "Ehlers-Danlos syndrome, type 7", (), ("Disease",), ("D004535",)),
    ])
    assert set(entries) == {
        Entry("Cocaine", "MESH:D003042", "Chemical", "mesh"),
        Entry("Cocaine HCl", "MESH:D003042", "Chemical", "mesh"),
        Entry("bevonium", "MESH:C000002", "Chemical", "mesh"),
        Entry("Proteins", "MESH:D011506", "Chemical", "mesh"),
        Entry("Ehlers-Danlos syndrome, type 7", "MESH:C536528", "Disease", "mesh"),
    }
