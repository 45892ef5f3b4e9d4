"""Model registry store: versioned model directories plus the Postgres tables (sql/0030).

A trained model is registered as a challenger; `promote` runs its kind's gate (policy.py)
against the champion and records the decision with its reasons whatever it is; `rollback`
restores the previous champion. The pipelines' extract stage loads whatever is champion.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from medkb.db.postgres import execute, fetch_all
from medkb.registry.card import write_card
from medkb.registry.policy import GatePolicy, gate
from medkb.settings import Settings


class RegistryError(RuntimeError):
    """A registry operation cannot proceed; the message names the version and what to do."""


@dataclass(frozen=True)
class ModelRecord:
    version: str
    kind: str
    parent: str | None
    created: datetime
    path: str
    metrics: dict[str, Any]
    status: str

    def primary_scores(self) -> dict[str, Any]:
        return self.metrics["dev"][self.metrics["primary"]]


@dataclass(frozen=True)
class Decision:
    version: str
    against: str | None
    promote: bool
    reasons: tuple[str, ...]


def registry_dir(settings: Settings) -> Path:
    """Where model directories live: $MEDKB_MODEL_REGISTRY, else <local dir>/models."""
    return Path(os.environ.get("MEDKB_MODEL_REGISTRY") or settings.local_dir / "models")


def _record(row: dict[str, Any]) -> ModelRecord:
    return ModelRecord(row["version"], row["kind"], row["parent"], row["created"], row["path"], row["metrics"], row["status"])


def get(conn: Any, version: str) -> ModelRecord:
    rows = fetch_all(conn, "SELECT * FROM model_registry WHERE version = %s", (version,))
    if not rows:
        raise RegistryError(f"model {version!r} is not registered; `medkb model list` shows the versions")
    return _record(rows[0])


def list_models(conn: Any, kind: str = "ner") -> list[ModelRecord]:
    return [_record(r) for r in fetch_all(conn, "SELECT * FROM model_registry WHERE kind = %s ORDER BY created, version", (kind,))]


def champion(conn: Any, kind: str = "ner") -> ModelRecord | None:
    rows = fetch_all(conn, "SELECT * FROM model_registry WHERE kind = %s AND status = 'champion'", (kind,))
    return _record(rows[0]) if rows else None


def decisions(conn: Any, version: str | None = None, kind: str = "ner") -> list[dict[str, Any]]:
    if version:
        return fetch_all(conn, "SELECT * FROM model_decisions WHERE version = %s ORDER BY id", (version,))
    return fetch_all(conn, "SELECT * FROM model_decisions WHERE kind = %s ORDER BY id", (kind,))


def next_version(conn: Any, kind: str = "ner", day: datetime | None = None, taken: Iterable[str] = ()) -> str:
    """The next free `<kind>-<YYYYMMDD>-<n>` after the registered versions and those in `taken`."""
    stamp = (day or datetime.now(UTC)).strftime("%Y%m%d")
    rows = fetch_all(conn, "SELECT version FROM model_registry WHERE version LIKE %s", (f"{kind}-{stamp}-%",))
    names = [r["version"] for r in rows] + [t for t in taken if t.startswith(f"{kind}-{stamp}-")]
    used = [int(v.rsplit("-", 1)[1]) for v in names if v.rsplit("-", 1)[1].isdigit()]
    return f"{kind}-{stamp}-{max(used, default=0) + 1}"


def reserve_version(conn: Any, settings: Settings, kind: str = "ner") -> Path:
    """Create the directory of a new version, exclusively: two trainings started together (they are
    registered only when they finish) must not both write into the same version's directory."""
    root = registry_dir(settings)
    root.mkdir(parents=True, exist_ok=True)
    while True:
        path = root / next_version(conn, kind, taken=[p.name for p in root.iterdir()])
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue


def register(conn: Any, model_dir: Path | str, settings: Settings, *, version: str | None = None,
             kind: str | None = None) -> ModelRecord:
    """Copy (if needed) a trained model directory into the registry and add it as a challenger.

    The kind is the directory's own (medkb.json `kind`, "ner" when absent) unless given. Re-registering
    the same version updates its metrics and path and keeps its status.
    """
    src = Path(model_dir)
    metrics_path = src / "metrics.json"
    if not metrics_path.exists():
        raise RegistryError(f"{src}: no metrics.json; it is not a finished `medkb train ner` output")
    metrics = json.loads(metrics_path.read_text())
    if kind is None:
        src_meta = src / "medkb.json"
        kind = str(json.loads(src_meta.read_text()).get("kind", "ner")) if src_meta.exists() else "ner"
    version = version or (src.name if src.parent == registry_dir(settings) else next_version(conn, kind))
    dest = registry_dir(settings) / version
    if src.resolve() != dest.resolve():
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(src, dest, ignore=shutil.ignore_patterns("checkpoint-*"))
    meta_path = dest / "medkb.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    meta["version"] = version
    meta_path.write_text(json.dumps(meta, indent=1))
    parent = champion(conn, kind)
    parent_version = parent.version if parent and parent.version != version else None
    execute(
        conn,
        """INSERT INTO model_registry (version, kind, parent, path, metrics)
           VALUES (%s, %s, %s, %s, %s)
           ON CONFLICT (version) DO UPDATE SET path = EXCLUDED.path, metrics = EXCLUDED.metrics, updated_at = now()""",
        (version, kind, parent_version, str(dest), json.dumps(metrics)),
    )
    record = get(conn, version)
    write_card(dest, record, meta)
    return record


def promote(conn: Any, version: str, policy: GatePolicy | None = None, *, force: bool = False) -> Decision:
    """Run the gate for `version` against the champion; promote if it passes (or `force`). Recorded either way.

    Without a policy, the one for the model's kind in models/promotion.yaml applies.
    """
    cand = get(conn, version)
    policy = policy or GatePolicy.load(kind=cand.kind)
    if cand.status == "champion":
        raise RegistryError(f"model {version} is already champion")
    current = champion(conn, cand.kind)
    others = {}
    if current is not None:
        mine, theirs = cand.metrics.get("dev", {}), current.metrics.get("dev", {})
        others = {name: (mine[name]["micro"]["f1"], theirs[name]["micro"]["f1"])
                  for name in sorted(set(mine) & set(theirs)) if name != cand.metrics.get("primary")}
    ok, reasons = gate(cand.primary_scores(), current.primary_scores() if current else None, policy, others)
    action = "promote" if ok else ("force" if force else "reject")
    if force and not ok:
        reasons = (*reasons, "promoted by force despite the gate")
    if ok or force:
        if current:
            execute(conn, "UPDATE model_registry SET status = 'retired', updated_at = now() WHERE version = %s", (current.version,))
        execute(conn, "UPDATE model_registry SET status = 'champion', updated_at = now() WHERE version = %s", (version,))
    execute(
        conn,
        "INSERT INTO model_decisions (kind, version, against, action, reasons) VALUES (%s, %s, %s, %s, %s)",
        (cand.kind, version, current.version if current else None, action, json.dumps(list(reasons))),
    )
    return Decision(version, current.version if current else None, ok or force, reasons)


def rollback(conn: Any, kind: str = "ner") -> Decision:
    """Retire the champion and restore the one it replaced (the most recent earlier champion)."""
    current = champion(conn, kind)
    if current is None:
        raise RegistryError(f"no {kind} champion to roll back; `medkb model promote VERSION` makes one")
    rows = fetch_all(
        conn,
        """SELECT d.version FROM model_decisions d JOIN model_registry m ON m.version = d.version
           WHERE d.kind = %s AND d.action IN ('promote', 'force', 'rollback') AND d.version <> %s
           AND m.status = 'retired' ORDER BY d.id DESC LIMIT 1""",
        (kind, current.version),
    )
    if not rows:
        raise RegistryError(f"{current.version} has no earlier champion to roll back to")
    previous = rows[0]["version"]
    execute(conn, "UPDATE model_registry SET status = 'retired', updated_at = now() WHERE version = %s", (current.version,))
    execute(conn, "UPDATE model_registry SET status = 'champion', updated_at = now() WHERE version = %s", (previous,))
    reasons = (f"rolled back from {current.version} to {previous}",)
    execute(
        conn,
        "INSERT INTO model_decisions (kind, version, against, action, reasons) VALUES (%s, %s, %s, 'rollback', %s)",
        (kind, previous, current.version, json.dumps(list(reasons))),
    )
    return Decision(previous, current.version, True, reasons)
