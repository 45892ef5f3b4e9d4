"""Numbered SQL migrations from `sql/`, applied in order once each and recorded in a version table."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from medkb.db.postgres import connect, fetch_all
from medkb.settings import REPO_ROOT, Settings

SQL_DIR = REPO_ROOT / "sql"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# One migrator at a time, whatever process runs it (an arbitrary, fixed advisory-lock key).
_LOCK_KEY = 0x6D65646B62


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


class MigrationError(RuntimeError):
    """A migration file is misnamed, was edited after it was applied, or failed to apply."""


def discover(sql_dir: Path = SQL_DIR) -> list[Migration]:
    found = []
    for path in sorted(sql_dir.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise MigrationError(f"{path.name}: migration files are named NNNN_snake_case.sql")
        found.append(Migration(int(m.group(1)), path.stem, path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migrations share a number in {sql_dir}: {versions}")
    return found


def migrate(settings: Settings, sql_dir: Path = SQL_DIR) -> list[str]:
    """Apply the migrations not yet applied, all in one transaction (a failure applies none)."""
    applied_now: list[str] = []
    with connect(settings) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            cur.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       version integer PRIMARY KEY,
                       name text NOT NULL,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
        done = {r["version"]: r for r in fetch_all(conn, "SELECT version, name, checksum FROM schema_migrations")}
        for mig in discover(sql_dir):
            if mig.version in done:
                if done[mig.version]["checksum"] != mig.checksum:
                    raise MigrationError(
                        f"{mig.path.name} changed after it was applied; add a new migration instead of editing it"
                    )
                continue
            try:
                with conn.cursor() as cur:
                    cur.execute(mig.path.read_text())
                    cur.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                        (mig.version, mig.name, mig.checksum),
                    )
            except Exception as exc:
                raise MigrationError(f"{mig.path.name} failed: {exc}".strip()) from exc
            applied_now.append(mig.name)
    return applied_now


def current_version(settings: Settings) -> int:
    with connect(settings) as conn:
        rows = fetch_all(conn, "SELECT coalesce(max(version), 0) AS v FROM schema_migrations")
    return int(rows[0]["v"])
