"""Analyst access: read-only transactions, parameters, output formats, the CLI."""

from __future__ import annotations

import json

import pytest

from medkb.cli import main
from medkb.kb.analyst import AnalystQueryError, format_rows, parse_params, run_read


def test_parse_params_keeps_json_types_and_strings():
    assert parse_params(["limit=5", "id=MESH:D008094", "ids=[\"HP:1\",\"HP:2\"]", "flag=true", "s=\"123\""]) == {
        "limit": 5, "id": "MESH:D008094", "ids": ["HP:1", "HP:2"], "flag": True, "s": "123"}
    with pytest.raises(AnalystQueryError, match="expected name=value"):
        parse_params(["nonsense"])


def test_formats():
    rows = [{"id": "A", "n": 2, "l": ["x"]}, {"id": "B", "n": 10, "l": []}]
    table = format_rows(rows, "table").splitlines()
    assert table[0].split() == ["id", "n", "l"] and table[-1] == "(2 rows)"
    assert format_rows(rows, "csv").splitlines() == ["id,n,l", 'A,2,"[""x""]"', "B,10,[]"]
    assert json.loads(format_rows(rows, "json")) == rows
    assert format_rows([], "table") == "(no rows)"
    with pytest.raises(AnalystQueryError, match="choose one of"):
        format_rows(rows, "xml")


@pytest.mark.integration
def test_a_write_fails_with_a_clear_message(graph):
    with pytest.raises(AnalystQueryError, match="writes to the graph"):
        run_read(graph, "CREATE (n:Chemical {id: 'X:1'}) RETURN n")
    with pytest.raises(AnalystQueryError, match="writes to the graph"):
        run_read(graph, "MATCH (n) DETACH DELETE n")
    assert graph.read("MATCH (n:Chemical {id: 'X:1'}) RETURN n") == []


@pytest.mark.integration
def test_syntax_errors_and_missing_params_are_one_line(graph):
    with pytest.raises(AnalystQueryError, match="not valid Cypher"):
        run_read(graph, "MATCH (n RETURN n")
    with pytest.raises(AnalystQueryError, match="--param"):
        run_read(graph, "RETURN $x AS x")


@pytest.mark.integration
def test_cli_cypher_and_query(graph, capsys):
    graph.write("CREATE (:Concept:Chemical {id: 'MESH:D1', name: 'Lithium', created_run: 't'})")
    assert main(["cypher", "MATCH (c:Chemical {id: $id}) RETURN c.name AS name", "--param", "id=MESH:D1",
                 "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"name": "Lithium"}]
    assert main(["cypher", "CREATE (n:X)"]) == 1
    assert "read-only" in capsys.readouterr().err
    assert main(["query", "concept_synonyms", "--param", "id=MESH:D1", "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("id,name,synonyms")
    assert main(["query", "--list"]) == 0
    assert "induced_diseases" in capsys.readouterr().out
