"""`medkb db ...`: Postgres migrations."""

from __future__ import annotations

import argparse

from medkb.db.migrate import current_version, discover, migrate
from medkb.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("db", help="Postgres: apply migrations, show the schema version")
    p.set_defaults(group_parser=p)
    s = p.add_subparsers(dest="db_command", metavar="SUBCOMMAND")
    m = s.add_parser("migrate", help="apply the numbered migrations in sql/ that are not applied yet")
    m.set_defaults(func=_migrate)
    st = s.add_parser("status", help="show the applied schema version and pending migrations")
    st.set_defaults(func=_status)


def _migrate(args: argparse.Namespace) -> int:
    applied = migrate(Settings.from_env())
    if applied:
        for name in applied:
            print(f"applied {name}")
    else:
        print("database is up to date; nothing to apply")
    return 0


def _status(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    version = current_version(settings)
    pending = [m.name for m in discover() if m.version > version]
    print(f"schema version {version}; pending: {', '.join(pending) or 'none'}")
    return 0
