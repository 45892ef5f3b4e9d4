"""The demo's two nights of input, cut from the sample data (what upstream systems would deliver).

Night k gets: the k-th slice of the MEDLINE baseline sample, the k-th half of the synthetic
patients (`medkb data sample --patients N`, Synthea, seeded), and, when the shared phenopacket
file is on this machine, the k-th half of a few real phenopackets. Patient files are renamed by
their content hash: Synthea's names (`First_Last_uuid.json`) would put a patient's name into
file names, logs and `ingested_files`.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path
from typing import Any

from medkb.settings import Settings
from medkb.sources.medline_slice import write_slice
from medkb.sources.sample_data import BASELINE, fetch_medline_sample

NIGHTS = 2
PHENOPACKETS_PER_NIGHT = 5


def night_files(settings: Settings, folder: Path, limit: int | None, phenopackets: Path) -> list[dict[str, Any]]:
    baseline = next(p for p in fetch_medline_sample(settings.data_dir) if p.name == BASELINE)
    total = limit or 30000
    per_night = total // NIGHTS
    bundles = sorted((settings.data_dir / "fhir" / "inbox").glob("*.json"))
    packets = _phenopacket_lines(phenopackets, PHENOPACKETS_PER_NIGHT * NIGHTS)
    nights = []
    for k in range(NIGHTS):
        medline = folder / "medline" / f"demo-night{k + 1}.xml.gz"
        n_docs = write_slice(baseline, medline, k * per_night, (k + 1) * per_night)
        fhir = [_renamed(p, folder / "fhir") for p in bundles[k::NIGHTS]]
        packet_files = []
        if packets:
            part = packets[k * PHENOPACKETS_PER_NIGHT:(k + 1) * PHENOPACKETS_PER_NIGHT]
            target = folder / "phenopackets" / f"demo-night{k + 1}.jsonl.gz"
            target.parent.mkdir(parents=True, exist_ok=True)
            body = b"".join(part)
            if not target.exists() or gzip.decompress(target.read_bytes()) != body:
                target.write_bytes(gzip.compress(body, mtime=0))
            packet_files.append(target)
        nights.append({
            "medline": [medline], "fhir": fhir, "phenopackets": packet_files,
            "summary": f"{n_docs} citations, {len(fhir)} patient bundles, "
                       f"{len(packet_files) and PHENOPACKETS_PER_NIGHT} phenopackets",
        })
    return nights


def _renamed(path: Path, folder: Path) -> Path:
    data = path.read_bytes()
    target = folder / f"patient-{hashlib.sha256(data).hexdigest()[:16]}.json"
    folder.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        target.write_bytes(data)
    return target


def _phenopacket_lines(folder: Path, n: int) -> list[bytes]:
    source = folder / "phenopackets-dev.jsonl.gz"
    if not source.exists():
        return []
    lines: list[bytes] = []
    with gzip.open(source, "rb") as fh:
        for line in fh:
            if line.strip():
                lines.append(line if line.endswith(b"\n") else line + b"\n")
            if len(lines) >= n:
                break
    return lines
