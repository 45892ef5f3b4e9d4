import pytest

from medkb.cli import main
from medkb.db.migrate import MigrationError, discover, migrate
from medkb.db.postgres import connect, fetch_all

pytestmark = pytest.mark.integration


def test_migrations_are_numbered_and_unique():
    migrations = discover()
    assert migrations, "sql/ has no migrations"
    assert [m.version for m in migrations] == sorted({m.version for m in migrations})


def test_migrate_twice_changes_nothing(migrated, capsys):
    assert main(["db", "migrate"]) == 0
    capsys.readouterr()
    with connect(migrated) as conn:
        before = fetch_all(conn, "SELECT version, checksum, applied_at FROM schema_migrations ORDER BY version")
    assert main(["db", "migrate"]) == 0
    assert "nothing to apply" in capsys.readouterr().out
    with connect(migrated) as conn:
        after = fetch_all(conn, "SELECT version, checksum, applied_at FROM schema_migrations ORDER BY version")
    assert before == after
    assert [r["version"] for r in after] == [m.version for m in discover()]


def test_edited_migration_is_refused(migrated, tmp_path):
    first = discover()[0]
    (tmp_path / first.path.name).write_text(first.path.read_text() + "\n-- edited\n")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(migrated, sql_dir=tmp_path)
