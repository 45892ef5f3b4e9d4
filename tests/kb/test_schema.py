import pytest

from medkb.cli import main
from medkb.kb.schema import init_schema, schema_names

pytestmark = pytest.mark.integration


def test_kb_init_twice_changes_nothing(graph, capsys):
    assert main(["kb", "init"]) == 0
    names = schema_names(graph)
    assert {"chemical_id", "document_id", "assertion_id", "run_id", "concept_names"} <= names
    capsys.readouterr()
    assert main(["kb", "init"]) == 0
    assert "nothing to create" in capsys.readouterr().out
    assert init_schema(graph) == []
    assert schema_names(graph) == names


def test_unique_id_is_enforced(graph):
    graph.write("CREATE (:Disease {id: 'MESH:D003920'})")
    with pytest.raises(Exception, match="already exists"):
        graph.write("CREATE (:Disease {id: 'MESH:D003920'})")


def test_init_drops_obsolete_indexes(graph):
    graph.write("CREATE INDEX evidence_key IF NOT EXISTS FOR ()-[r:EVIDENCE]-() ON (r.key)")
    assert "evidence_key" in schema_names(graph)
    init_schema(graph)
    assert "evidence_key" not in schema_names(graph)
