import pytest

from medkb.db.postgres import PostgresUnavailable, connect, execute, fetch_all

pytestmark = pytest.mark.integration


def test_round_trip_through_project_connection(migrated):
    with connect(migrated) as conn:
        execute(conn, "CREATE TEMP TABLE rt (k text PRIMARY KEY, v integer)")
        execute(conn, "INSERT INTO rt VALUES (%s, %s), (%s, %s)", ("a", 1, "b; DROP TABLE rt", 2))
        rows = fetch_all(conn, "SELECT k, v FROM rt WHERE v >= %(min)s ORDER BY k", {"min": 1})
    assert rows == [{"k": "a", "v": 1}, {"k": "b; DROP TABLE rt", "v": 2}]


def test_block_that_raises_rolls_back(pg, migrated):
    with pytest.raises(RuntimeError):
        with connect(migrated) as conn:
            execute(conn, "INSERT INTO source_watermarks (source, position, run_id) VALUES ('x', 'f1', 'r1')")
            raise RuntimeError("boom")
    with connect(migrated) as conn:
        assert fetch_all(conn, "SELECT * FROM source_watermarks WHERE source = 'x'") == []


def test_wrong_password_is_one_clear_error(migrated):
    from dataclasses import replace

    bad = replace(migrated, pg_uri=migrated.pg_uri.replace("://medkb:", "://medkb:wrong-"))
    with pytest.raises(PostgresUnavailable, match="wrong password"):
        with connect(bad):
            pass
