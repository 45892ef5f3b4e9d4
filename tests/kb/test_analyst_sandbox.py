"""Analysts cannot reach files or the network through the server, and a runaway query is stopped.

Runs against the test Neo4j that ops/services.sh configured (its allow-list and LOAD CSV settings).
A local HTTP server on 127.0.0.1 stands in for "the network": every test that tries to fetch from
it also checks that no request ever arrived.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from medkb.kb.analyst import AnalystLimits, AnalystQueryError, run_read

FORBIDDEN = ("apoc.load.", "apoc.import.", "apoc.export.", "apoc.cypher.", "apoc.periodic.", "apoc.trigger.",
             "apoc.spatial.", "apoc.util.", "apoc.xml.", "apoc.log.", "apoc.systemdb.", "apoc.custom.")


def test_limits_from_env_defaults_and_errors():
    assert AnalystLimits.from_env({}) == AnalystLimits(60.0, 10000)
    assert AnalystLimits.from_env({"MEDKB_ANALYST_TIMEOUT_S": "2.5", "MEDKB_ANALYST_MAX_ROWS": "7"}) == \
        AnalystLimits(2.5, 7)
    with pytest.raises(AnalystQueryError, match="MEDKB_ANALYST_MAX_ROWS a whole number"):
        AnalystLimits.from_env({"MEDKB_ANALYST_MAX_ROWS": "many"})
    with pytest.raises(AnalystQueryError, match="must be positive"):
        AnalystLimits.from_env({"MEDKB_ANALYST_TIMEOUT_S": "0"})


@pytest.fixture
def web() -> Iterator[tuple[str, list[str]]]:
    """A CSV/JSON server on 127.0.0.1 that records every request it gets."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"a": 1}\n' if self.path.endswith(".json") else b"a,b\n1,2\n")

        def log_message(self, *args: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", hits
    srv.shutdown()
    srv.server_close()



@pytest.mark.integration
@pytest.mark.parametrize("call", [
    "CALL apoc.load.json($url + '/x.json') YIELD value RETURN value",
    "CALL apoc.load.csv($url + '/x.csv') YIELD list RETURN list",
    "CALL apoc.load.jsonParams($url + '/x.json', {}, null) YIELD value RETURN value",
    "CALL apoc.import.json($url + '/x.json')",
    "CALL apoc.import.csv([{fileName: $url + '/x.csv', labels: ['X']}], [], {})",
    "CALL apoc.export.csv.all('/tmp/medkb-analyst-export.csv', {})",
    "CALL apoc.export.json.all('/tmp/medkb-analyst-export.json', {})",
    "CALL apoc.cypher.runFile('/etc/passwd')",
    "CALL apoc.periodic.iterate('RETURN 1', 'RETURN 1', {})",
])
def test_procedures_that_reach_files_or_the_network_are_refused(graph, web, call):
    url, hits = web
    with pytest.raises(AnalystQueryError, match="not loaded") as err:
        run_read(graph, call, {"url": url})
    assert "allow-list" in str(err.value) and "\n" not in str(err.value)
    assert hits == []
    assert not Path("/tmp/medkb-analyst-export.csv").exists()


@pytest.mark.integration
def test_functions_that_reach_out_are_refused_and_safe_ones_work(graph):
    with pytest.raises(AnalystQueryError, match="not loaded on this server"):
        run_read(graph, "RETURN apoc.util.sleep(10) AS x")
    with pytest.raises(AnalystQueryError, match="not loaded on this server"):
        run_read(graph, "RETURN apoc.xml.parse('<a/>') AS x")
    assert run_read(graph, "RETURN apoc.coll.sum([1, 2, 3]) AS s, apoc.text.join(['a', 'b'], '-') AS t") == \
        [{"s": 6.0, "t": "a-b"}]


@pytest.mark.integration
def test_only_allowed_apoc_procedures_are_loaded(graph):
    names = [r["name"] for q in ("SHOW PROCEDURES", "SHOW FUNCTIONS")
             for r in graph.read(q + " YIELD name WHERE name STARTS WITH 'apoc.' RETURN name")]
    assert names, "APOC is not installed on the test server: ops/services.sh installs it"
    assert [n for n in names if n.startswith(FORBIDDEN)] == []


@pytest.mark.integration
def test_load_csv_fetches_no_url(graph, web):
    url, hits = web
    for target in (url + "/x.csv", url.replace("127.0.0.1", "localhost") + "/x.csv"):
        with pytest.raises(AnalystQueryError, match="LOAD CSV refused: .*blocked") as err:
            run_read(graph, "LOAD CSV FROM $u AS row RETURN row", {"u": target})
        assert "fetches no URL" in str(err.value)
    assert hits == []


@pytest.mark.integration
@pytest.mark.parametrize("target", ["file:///etc/passwd", "file:///../../../../../../etc/passwd",
                                    "file:///proc/self/environ"])
def test_load_csv_reads_nothing_outside_the_empty_import_folder(graph, target):
    with pytest.raises(AnalystQueryError, match="LOAD CSV refused"):
        run_read(graph, "LOAD CSV FROM $u AS row RETURN row", {"u": target})
    setting = graph.read("SHOW SETTINGS YIELD name, value WHERE name = 'server.directories.import' RETURN value")
    folder = Path(setting[0]["value"])
    assert folder.is_dir() and list(folder.iterdir()) == []


@pytest.mark.integration
def test_a_deliberately_slow_query_is_stopped_by_the_timeout(graph):
    slow = "UNWIND range(1, 2000000000) AS x WITH x WHERE x % 7 = 99 RETURN count(*) AS n"
    t0 = time.monotonic()
    with pytest.raises(AnalystQueryError, match="ran past the 1 s analyst timeout"):
        run_read(graph, slow, limits=AnalystLimits(timeout_s=1, max_rows=10))
    assert time.monotonic() - t0 < 30
    left = graph.read("SHOW TRANSACTIONS YIELD currentQuery WHERE currentQuery STARTS WITH 'UNWIND range(1, 2000000000)' "
                      "RETURN count(*) AS n")
    assert left == [{"n": 0}]  # the server is no longer working on it


@pytest.mark.integration
def test_the_row_limit(graph):
    limits = AnalystLimits(timeout_s=30, max_rows=100)
    assert len(run_read(graph, "UNWIND range(1, 100) AS x RETURN x", limits=limits)) == 100
    with pytest.raises(AnalystQueryError, match="more than 100 rows; add a LIMIT"):
        run_read(graph, "UNWIND range(1, 100000000) AS x RETURN x", limits=limits)
