"""Where MedKB's settings come from: the environment (ops/env.sh documents the local defaults).

Airflow tasks build a Settings from their connections instead (Settings.from_uris), so secrets
reach the library only through Airflow connections or the environment, never through code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

REPO_ROOT = Path(__file__).resolve().parents[1]


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class Neo4jTarget:
    uri: str
    user: str
    password: str = ""
    database: str = "neo4j"

    def __repr__(self) -> str:  # never print the password
        return f"Neo4jTarget(uri={self.uri!r}, user={self.user!r}, database={self.database!r})"

    @classmethod
    def from_uri(cls, uri: str, database: str = "neo4j") -> Neo4jTarget:
        """Split `neo4j://user:password@host:port` (Airflow's connection form) into parts."""
        parts = urlsplit(uri)
        if not parts.hostname:
            raise SettingsError(f"Neo4j URI has no host: {parts.scheme}://…; expected bolt://user:pass@host:port")
        scheme = "bolt" if parts.scheme in ("bolt", "neo4j", "") else parts.scheme
        port = parts.port or 7687
        return cls(
            uri=f"{scheme}://{parts.hostname}:{port}",
            user=unquote(parts.username or "neo4j"),
            password=unquote(parts.password or ""),
            database=database,
        )


def data_dir_from_env(env: dict[str, str] | None = None) -> Path:
    """MEDKB_DATA_DIR, else <MEDKB_LOCAL_DIR or .local>/data: needs no database settings."""
    env = dict(os.environ if env is None else env)
    return Path(env.get("MEDKB_DATA_DIR", Path(env.get("MEDKB_LOCAL_DIR", REPO_ROOT / ".local")) / "data"))


@dataclass(frozen=True)
class Settings:
    pg_uri: str
    neo4j: Neo4jTarget
    data_dir: Path
    local_dir: Path
    pseudonym_key: str = ""
    # "model": the registry's fine-tuned champion (the shipped release is imported when there is
    # none); "dictionary": the dictionary extractor, only when an operator chooses it
    extractor: str = "model"

    def __repr__(self) -> str:
        return f"Settings(pg=…@{self.pg_uri.rsplit('@', 1)[-1]}, neo4j={self.neo4j!r}, data_dir={str(self.data_dir)!r})"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        local = Path(env.get("MEDKB_LOCAL_DIR", REPO_ROOT / ".local"))
        pg_uri = env.get("MEDKB_PG_URI")
        if not pg_uri:
            raise SettingsError(
                "MEDKB_PG_URI is not set: run through `make` (which sources ops/env.sh) or "
                "`source ops/env.sh` first, or export postgresql://user:pass@host:port/db"
            )
        neo4j_uri = env.get("MEDKB_NEO4J_URI", "bolt://127.0.0.1:7687")
        target = Neo4jTarget.from_uri(neo4j_uri)
        target = replace(
            target,
            user=env.get("MEDKB_NEO4J_USER", target.user),
            password=env.get("MEDKB_NEO4J_PASSWORD", target.password),
        )
        return cls(
            pg_uri=_libpq_uri(pg_uri),
            neo4j=target,
            data_dir=data_dir_from_env(env),
            local_dir=local,
            pseudonym_key=env.get("MEDKB_PSEUDONYM_KEY", ""),
            extractor=_extractor(env.get("MEDKB_EXTRACTOR", "model")),
        )

    @classmethod
    def from_uris(cls, pg_uri: str, neo4j_uri: str, env: dict[str, str] | None = None) -> Settings:
        """Settings for an Airflow task: the stores come from its connections' URIs."""
        base = cls.from_env({**dict(os.environ if env is None else env), "MEDKB_PG_URI": pg_uri})
        return replace(base, pg_uri=_libpq_uri(pg_uri), neo4j=Neo4jTarget.from_uri(neo4j_uri))


EXTRACTORS = ("model", "dictionary")


def _extractor(value: str) -> str:
    if value not in EXTRACTORS:
        raise SettingsError(f"MEDKB_EXTRACTOR={value!r}: choose one of {', '.join(EXTRACTORS)}")
    return value


def _libpq_uri(uri: str) -> str:
    """Airflow writes postgres:// or postgresql+psycopg2://; libpq wants postgresql://."""
    for prefix in ("postgresql+psycopg2://", "postgres://"):
        if uri.startswith(prefix):
            return "postgresql://" + uri[len(prefix):]
    return uri
