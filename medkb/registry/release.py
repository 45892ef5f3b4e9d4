"""Shipped model releases: what a fresh machine runs.

A release is a directory under version control, `models/releases/<version>/`: the serving files of
a registered model (weights cast to bf16 safetensors, tokenizer, label map, lexicon, precise names,
card, the metrics and the gate decision it was promoted with) and `MANIFEST.json` with the size and
sha256 of every file. The registry directory (`.local/models`) is git-ignored, so without a release
a fresh clone has no fine-tuned model at all; `ensure_shipped_models` imports the shipped serving
release of each kind whose registry has no champion.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medkb.db.postgres import execute, fetch_all
from medkb.registry import store
from medkb.settings import REPO_ROOT, Settings

log = logging.getLogger(__name__)

RELEASES_DIR = REPO_ROOT / "models" / "releases"
MANIFEST = "MANIFEST.json"
MAX_RELEASE_BYTES = 60 * 1024 * 1024  # a MiniLM model in bf16 is about 45 MB; git carries every release
# what a training run leaves that serving does not need
SKIP = ("checkpoint-", "optimizer", "scheduler", "rng_state", "training_args", "trainer_state")


class ReleaseError(RuntimeError):
    """A release cannot be cut or imported; the message names the file and what to do."""


@dataclass(frozen=True)
class Release:
    version: str
    kind: str
    path: Path
    files: dict[str, dict[str, Any]]  # name -> {"sha256", "bytes"}
    serving: bool  # the release a fresh machine imports as champion of its kind

    @property
    def total_bytes(self) -> int:
        return sum(f["bytes"] for f in self.files.values())


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _serving_files(model_dir: Path) -> list[Path]:
    return sorted(p for p in model_dir.iterdir() if p.is_file() and not p.name.startswith(SKIP) and p.name != MANIFEST)


def _write_bf16(src: Path, dest: Path) -> None:
    """Floating-point tensors cast to bf16 (half the bytes; the bench measured bf16 0.02 F1 better
    than fp32 on BC5CDR dev), everything else as it was."""
    import torch
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(src))
    cast = {k: (v.to(torch.bfloat16) if v.is_floating_point() else v).contiguous() for k, v in tensors.items()}
    save_file(cast, str(dest), metadata={"format": "pt"})


def cut_release(conn: Any, version: str, *, root: Path | None = None, serving: bool | None = None) -> Release:
    """Copy a registered model's serving files into `root/<version>` and write its manifest.

    `serving` defaults to whether the version is the champion of its kind now; at most one release
    per kind is serving (an older serving release of the same kind is unmarked).
    """
    root = root or RELEASES_DIR
    record = store.get(conn, version)
    src = Path(record.path)
    if not src.is_dir():
        raise ReleaseError(f"{version}: its registry directory {src} is missing on this machine; cut the release where it was trained")
    serving = record.status == "champion" if serving is None else serving
    dest = root / version
    tmp = root / f".{version}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for f in _serving_files(src):
        if f.suffix == ".safetensors":
            _write_bf16(f, tmp / f.name)
        else:
            shutil.copy2(f, tmp / f.name)
    decisions = store.decisions(conn, version)
    (tmp / "promotion.json").write_text(json.dumps({
        "version": version, "kind": record.kind, "status": record.status, "parent": record.parent,
        "metrics": record.metrics,
        "decisions": [{"action": d["action"], "against": d["against"], "reasons": d["reasons"],
                       "decided_at": d["decided_at"].isoformat()} for d in decisions],
    }, indent=1, default=str))
    files = {p.name: {"sha256": sha256(p), "bytes": p.stat().st_size} for p in sorted(tmp.iterdir())}
    total = sum(f["bytes"] for f in files.values())
    if total > MAX_RELEASE_BYTES:
        shutil.rmtree(tmp)
        raise ReleaseError(f"{version}: release would be {total / 2**20:.1f} MiB, over the {MAX_RELEASE_BYTES / 2**20:.0f} MiB limit")
    manifest = {"version": version, "kind": record.kind, "serving": serving, "files": files}
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    if serving:
        for other in releases(root):
            if other.kind == record.kind and other.serving and other.version != version:
                _set_serving(other.path, False)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return verify(dest)


def _set_serving(path: Path, serving: bool) -> None:
    manifest = json.loads((path / MANIFEST).read_text())
    manifest["serving"] = serving
    (path / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def verify(path: Path | str) -> Release:
    """Check every file against the manifest; a missing, truncated or altered file is named."""
    path = Path(path)
    mpath = path / MANIFEST
    if not mpath.exists():
        raise ReleaseError(f"{path}: no {MANIFEST}; not a release directory (cut one with `medkb model release VERSION`)")
    try:
        manifest = json.loads(mpath.read_text())
        version, kind, files = manifest["version"], manifest["kind"], manifest["files"]
    except (ValueError, KeyError) as exc:
        raise ReleaseError(f"{mpath}: unreadable manifest ({exc})") from exc
    for name, want in sorted(files.items()):
        f = path / name
        if not f.is_file():
            raise ReleaseError(f"{version}: {name} is missing from {path}")
        size = f.stat().st_size
        if size != want["bytes"]:
            raise ReleaseError(f"{version}: {name} is {size} bytes, the manifest says {want['bytes']} (truncated or replaced)")
        if sha256(f) != want["sha256"]:
            raise ReleaseError(f"{version}: {name} does not match its sha256 in {MANIFEST} (corrupted or altered)")
    extra = sorted(p.name for p in path.iterdir() if p.name != MANIFEST and p.name not in files)
    if extra:
        raise ReleaseError(f"{version}: files not in the manifest: {', '.join(extra)}")
    return Release(version, kind, path, files, bool(manifest.get("serving")))


def releases(root: Path | None = None) -> list[Release]:
    """Every release under `root` (manifests read, files not hashed)."""
    root = root or RELEASES_DIR
    out = []
    for mpath in sorted(root.glob(f"*/{MANIFEST}")):
        m = json.loads(mpath.read_text())
        out.append(Release(m["version"], m["kind"], mpath.parent, m["files"], bool(m.get("serving"))))
    return out


def serving_release(kind: str, root: Path | None = None) -> Release | None:
    """The release of `kind` a fresh machine imports, if one is shipped."""
    return next((r for r in releases(root) if r.kind == kind and r.serving), None)


def import_release(conn: Any, settings: Settings, path: Path | str, *, promote: bool = True) -> tuple[store.ModelRecord, bool]:
    """Verify a release and register it; with `promote`, make it champion when its kind has none.

    Returns (record, imported): importing a version already registered changes nothing.
    """
    release = verify(path)
    existing = fetch_all(conn, "SELECT version FROM model_registry WHERE version = %s", (release.version,))
    if existing:
        return store.get(conn, release.version), False
    dest = store.registry_dir(settings) / release.version
    tmp = dest.with_name(f".{release.version}.importing")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(release.path, tmp)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    record = store.register(conn, dest, settings, version=release.version, kind=release.kind)
    if promote and store.champion(conn, release.kind) is None:
        store.promote(conn, release.version)
        execute(conn, "UPDATE model_decisions SET reasons = reasons || %s::jsonb WHERE id = "
                "(SELECT max(id) FROM model_decisions WHERE version = %s)",
                (json.dumps([f"imported from the shipped release {release.path.name} (sha256 verified)"]), release.version))
        record = store.get(conn, release.version)
    return record, True


def ensure_shipped_models(settings: Settings, conn: Any, root: Path | None = None, kinds: Iterable[str] | None = None) -> list[str]:
    """Import the serving release of every kind whose registry has no champion; the versions imported."""
    imported = []
    for release in releases(root):
        if not release.serving or (kinds is not None and release.kind not in kinds):
            continue
        if store.champion(conn, release.kind) is not None:
            continue
        record, new = import_release(conn, settings, release.path)
        if record.status == "champion":
            log.info("registry had no %s champion: imported the shipped release %s", release.kind, release.version)
            imported.append(release.version)
    return imported
