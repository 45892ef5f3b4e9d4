import pytest
from neo4j.exceptions import ClientError

from medkb.kb.client import GraphClient, GraphUnavailable
from medkb.settings import Neo4jTarget

pytestmark = pytest.mark.integration


def test_round_trip_with_parameters(graph):
    name = "x'}) DETACH DELETE n //"  # stays a value: parameters, never string formatting
    counts = graph.write("CREATE (:Chemical {id: $id, name: $name})", {"id": "MESH:D000001", "name": name})
    assert counts["nodes_created"] == 1
    rows = graph.read("MATCH (c:Chemical {id: $id}) RETURN c.name AS name", {"id": "MESH:D000001"})
    assert rows == [{"name": name}]


def test_batches_write_every_row(graph):
    rows = [{"id": f"MESH:C{i:06d}"} for i in range(25)]
    counts = graph.write_batches("UNWIND $rows AS r MERGE (:Chemical {id: r.id})", rows, batch_size=10)
    assert counts["nodes_created"] == 25
    assert graph.read("MATCH (c:Chemical) RETURN count(c) AS n") == [{"n": 25}]


def test_read_transaction_refuses_writes(graph):
    with pytest.raises(ClientError):
        graph.read("CREATE (:Chemical {id: 'MESH:X'})")
    assert graph.read("MATCH (c:Chemical {id: 'MESH:X'}) RETURN c") == []


def test_wrong_password_is_one_clear_error(settings):
    target = Neo4jTarget(settings.neo4j.uri, settings.neo4j.user, "not-the-password")
    with pytest.raises(GraphUnavailable, match="authentication failed"):
        with GraphClient(target) as client:
            client.read("RETURN 1")


def test_missing_server_is_one_clear_error():
    with pytest.raises(GraphUnavailable, match="not answering"):
        with GraphClient(Neo4jTarget("bolt://127.0.0.1:1", "neo4j", "x")) as client:
            client.read("RETURN 1")
