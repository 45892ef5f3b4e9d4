"""`medkb kb rollback RUN` undoes a night in both stores: run, roll back, run again equals the first run."""

from __future__ import annotations

import pytest

from medkb.cli import main
from medkb.db.postgres import fetch_all
from medkb.kb.dump import canonical_dump, dump_lines
from medkb.kb.rollback import RollbackError
from medkb.pipelines import kb_refresh
from medkb.pipelines.undo import rollback_night, run_record

pytestmark = pytest.mark.integration


def _stage(pg, pmid: str, version: int = 1, chemical: str = "MESH:D008094") -> None:
    with pg.cursor() as cur:
        cur.execute(
            "INSERT INTO staged_documents (source, source_key, version, title, content_hash, state, run_id) "
            "VALUES ('medline', %s, %s, %s, %s, 'extracted', 'R0')",
            (pmid, version, f"title {pmid} v{version}", f"h{pmid}-{version}"),
        )
        cur.execute("DELETE FROM extracted_assertions WHERE doc_id = %s", (f"PMID:{pmid}",))
        cur.execute("DELETE FROM extracted_mentions WHERE doc_id = %s", (f"PMID:{pmid}",))
        cur.execute(
            "INSERT INTO extracted_mentions VALUES (%s, 0, 7, 'lithium', 'Chemical', %s, 0.9, 'm1', 'R0'),"
            " (%s, 20, 26, 'tremor', 'Disease', 'MESH:D014202', 0.8, 'm1', 'R0')",
            (f"PMID:{pmid}", chemical, f"PMID:{pmid}"),
        )
        cur.execute(
            "INSERT INTO extracted_assertions VALUES (%s, %s, 'INDUCES', 'MESH:D014202', "
            "'Lithium induced tremor.', 0, 24, 0.7, 'm1', 'R0')",
            (f"PMID:{pmid}", chemical),
        )
    pg.commit()


def _night(settings, pg, run_id: str) -> dict:
    kb_refresh.begin(settings, run_id, {})
    counts = {"load": kb_refresh.load_graph(settings, run_id)}
    kb_refresh.finish(settings, run_id, counts)
    return counts


def _states(pg) -> dict[str, int]:
    pg.rollback()
    return {r["state"]: int(r["n"]) for r in fetch_all(pg, "SELECT state, count(*) AS n FROM staged_documents "
                                                        "GROUP BY state")}


def test_run_roll_back_run_again_equals_the_first_run(settings, pg, graph, capsys):
    empty = canonical_dump(graph)
    for pmid in ("11", "12", "13"):
        _stage(pg, pmid)
    assert _night(settings, pg, "N1")["load"]["documents"] == 3
    first = canonical_dump(graph)
    first_lines = dump_lines(graph)
    assert _states(pg) == {"loaded": 3}

    assert main(["kb", "rollback", "N1"]) == 0
    assert "3 documents are back in state `extracted`" in capsys.readouterr().out
    assert canonical_dump(graph) == empty  # the graph as before the night
    assert _states(pg) == {"extracted": 3}  # and Postgres: the next night loads them again
    record = run_record(settings, "N1")
    assert record["status"] == "rolled_back" and record["rolled_back_at"] is not None
    assert record["rollback"]["documents_requeued"] == 3
    assert graph.read("MATCH (r:Run {id: 'N1'}) RETURN r.status AS s") == [{"s": "rolled_back"}]

    # the same night again (an Airflow clear keeps the run id): the graph equals the first run's
    assert _night(settings, pg, "N1")["load"]["documents"] == 3
    assert canonical_dump(graph) == first and dump_lines(graph) == first_lines
    assert _states(pg) == {"loaded": 3}

    # rolled back again, then a new night under another id holds the same facts (ids aside)
    rollback_night(settings, "N1")
    _night(settings, pg, "N2")
    assert [line.replace('"N2"', '"N1"') for line in dump_lines(graph)] == first_lines


def test_a_run_a_later_run_built_on_is_refused_in_both_stores_unless_forced(settings, pg, graph):
    _stage(pg, "21")
    _night(settings, pg, "A")
    after_a = canonical_dump(graph)
    _stage(pg, "21", version=2, chemical="MESH:D002220")  # a revised citation: B builds on A's document
    _night(settings, pg, "B")
    assert canonical_dump(graph) != after_a
    before = _states(pg)

    with pytest.raises(RollbackError, match="run\\(s\\) B added to or changed"):
        rollback_night(settings, "A")
    assert _states(pg) == before and run_record(settings, "A")["status"] == "succeeded"
    assert main(["kb", "rollback", "A"]) == 1  # the CLI says the same in one line

    rollback_night(settings, "B")  # newest first: B's version goes back to `extracted`, A's graph is back
    assert canonical_dump(graph) == after_a
    assert _states(pg) == {"loaded": 1, "extracted": 1}
    forced = rollback_night(settings, "A", force=True)
    assert forced["documents_requeued"] == 0  # A's row is not the newest version: B's is already queued
    assert run_record(settings, "A")["rollback"]["forced"] is True
