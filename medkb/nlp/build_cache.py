"""An on-disk cache of built vocabulary indexes (the normalisers, the dictionary taggers).

Every scheduled Airflow task is a new process, and building the extractor's normalisers from
MeSH, the NER packages, hp.obo and a model's lexicon took 33-47 s of a 45-58 s night
(notes/issue-13-dags.md). The built object is pickled under `<data dir's parent>/cache/normalisers`
(.local/cache, git-ignored), named by a hash of everything it is built from: the input files'
contents (or, for the installed packages' data files, their paths, sizes and mtimes), the source
of the modules that build it, and the Python and library versions. A changed input or a code
change gives a new name, so a stale file is never read; older files of the same kind and slot
(one model's normaliser, say) are pruned, and any file unread for 30 days.

Writes go to a per-process temporary file renamed into place, so processes running in parallel
(mapped tasks) read either nothing or a whole file. An unreadable or corrupt file is logged and
rebuilt, never fatal; MEDKB_NORMALISER_CACHE=off turns the cache off.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import pickle
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import TypeVar

from medkb.settings import data_dir_from_env

log = logging.getLogger(__name__)
T = TypeVar("T")
KEEP = 2  # files kept per kind and slot (the newest): a rollback to the previous code or data is warm too
MAX_AGE_DAYS = 30  # a file not read or written for this long goes (a retired model's, say)
_CHUNK = 1 << 20
LIBRARIES = ("numpy", "scipy", "scikit-learn")  # the n-gram indexes pickle their objects


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)  # not the import: sklearn's alone is 1-3 s
    except metadata.PackageNotFoundError:
        return "missing"


def enabled() -> bool:
    return os.environ.get("MEDKB_NORMALISER_CACHE", "on").lower() not in {"off", "0", "false", "no"}


def cache_dir() -> Path:
    return data_dir_from_env().parent / "cache" / "normalisers"


def file_digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def digest_or_missing(path: Path | None) -> str:
    return file_digest(path) if path is not None and path.exists() else "missing"


def cache_key(*, contents: Iterable[Path | None] = (), stats: Iterable[Path] = (),
              modules: Iterable[ModuleType] = (), extra: Iterable[str] = ()) -> str:
    """A hash of the files' contents (in order, whatever their paths), the stat files' (path, size,
    mtime), the modules' source and `extra`.

    A missing file (or None) counts as "missing", so creating it later changes the key.
    """
    parts = [f"python {sys.version_info[:3]}", f"pickle {pickle.HIGHEST_PROTOCOL}",
             *(f"{d} {_version(d)}" for d in LIBRARIES)]
    for i, p in enumerate(contents):  # by content, not path: a release copied into a registry is the same build
        parts.append(f"content {i} {digest_or_missing(p)}")
    for p in stats:
        st = p.stat() if p.exists() else None
        parts.append(f"stat {p} {st.st_size if st else 'missing'} {st.st_mtime_ns if st else ''}")
    for m in modules:
        parts.append(f"module {m.__name__} {file_digest(Path(m.__file__))}" if m.__file__ else f"module {m.__name__}")
    parts.extend(f"extra {x}" for x in extra)
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=16).hexdigest()


def cached_build(kind: str, key: str, build: Callable[[], T], *, slot: str = "",
                 directory: Path | None = None) -> T:
    """`build()`'s result, read from `<directory>/<kind>.<slot hash>.<key>.pkl` when a previous
    build left it there.

    `slot` names what is built (a model's normaliser, another model's): each slot keeps its own
    newest KEEP files, so one model's builds (or a test run's) never evict another's.
    """
    if not enabled():
        return build()
    directory = directory or cache_dir()
    prefix = f"{kind}.{hashlib.blake2b(slot.encode(), digest_size=4).hexdigest()}"
    path = directory / f"{prefix}.{key}.pkl"
    if path.exists():
        t0 = time.perf_counter()
        try:
            obj = _load(path)
        except Exception as exc:  # noqa: BLE001 (a bad cache file is rebuilt, whatever is wrong with it)
            log.warning("normaliser cache %s is unreadable (%s: %s): rebuilding it", path, type(exc).__name__, exc)
        else:
            log.info("%s read from the cache %s in %.1f s", kind, path.name, time.perf_counter() - t0)
            _touch(path)
            return obj
    t0 = time.perf_counter()
    obj = build()
    built = time.perf_counter() - t0
    try:
        _store(path, obj)
        _prune(directory, prefix)
        log.info("%s built in %.1f s and cached as %s", kind, built, path)
    except OSError as exc:
        log.warning("could not cache %s in %s (%s): the next process builds it again", kind, directory, exc)
    return obj


def _load(path: Path) -> object:
    enabled_gc = gc.isenabled()
    gc.disable()  # millions of small tuples and strings: the cyclic collector would rescan them many times
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)  # noqa: S301 (our own cache file)
    finally:
        if enabled_gc:
            gc.enable()


def _store(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as fh:
            pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _touch(path: Path) -> None:
    """A file read is in use: its mtime is what the pruning goes by."""
    try:
        os.utime(path)
    except OSError:
        pass


def _prune(directory: Path, prefix: str) -> None:
    """Keep the slot's KEEP newest files; drop any file of the folder unused for MAX_AGE_DAYS."""
    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return 0.0

    files = sorted(directory.glob(f"{prefix}.*.pkl"), key=mtime, reverse=True)
    stale = time.time() - MAX_AGE_DAYS * 86400
    for old in [*files[KEEP:], *(p for p in directory.glob("*.pkl") if mtime(p) < stale)]:
        old.unlink(missing_ok=True)  # a process reading it keeps its open file; one about to open it rebuilds
