"""Ingestion benchmark: MEDLINE citations/s and peak memory, memory flatness on a 4x file, FHIR patients/s.

Each scenario runs in a fresh subprocess so its peak RSS is its own. Figures are printed, with
ratios against the parse-only baseline measured in the same run. Needs the test services
(MEDKB_ENV=test: it writes to the test database, under source names `bench*`, and removes them).

    MEDKB_ENV=test ... python bench/ingest.py [--patients 20]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(scenario: str, path: str) -> dict:
    from medkb.db.postgres import connect, execute
    from medkb.settings import Settings
    from medkb.sources.medline import read_medline

    settings = Settings.from_env()
    start = time.perf_counter()
    if scenario == "parse":
        n = sum(1 for _ in read_medline(path, source="bench"))
        return {"records": n, "seconds": time.perf_counter() - start, "peak_mb": _peak_mb()}
    if scenario == "stage":
        from medkb.staging.ingest import ingest_files

        counts = ingest_files(settings, [Path(path)], "bench-run", lambda p: read_medline(p, source="bench"), "bench")
        return {"records": counts["staged"] + counts["updated"] + counts["unchanged"],
                "seconds": time.perf_counter() - start, "peak_mb": _peak_mb()}
    if scenario == "validate":
        from medkb.validation.literature import validate_staged_literature

        with connect(settings) as conn:
            out = validate_staged_literature(conn, "bench-run", threshold=1.0)
        return {"records": out.rows, "seconds": time.perf_counter() - start, "peak_mb": _peak_mb(),
                "quarantined": out.quarantined, "warned": out.warned}
    if scenario == "fhir":
        from medkb.staging.clinical_records import ingest_fhir_paths
        from medkb.validation.clinical_records import validate_staged_records

        counts = ingest_fhir_paths(settings, [Path(path)], "bench-fhir")
        staged_s = time.perf_counter() - start
        with connect(settings) as conn:
            out = validate_staged_records(conn, "bench-fhir", threshold=1.0)
        return {"records": counts["cases"], "facts": counts["staged"] + counts["updated"] + counts["unchanged"],
                "seconds": time.perf_counter() - start, "stage_seconds": staged_s, "peak_mb": _peak_mb(),
                "validated": out.validated, "quarantined": out.quarantined}
    if scenario == "cleanup":
        with connect(settings) as conn:
            for sql in ("DELETE FROM staged_documents WHERE source = 'bench'",
                        "DELETE FROM source_watermarks WHERE source = 'bench'",
                        "DELETE FROM quarantine WHERE run_id IN ('bench-run', 'bench-fhir')",
                        "DELETE FROM staged_clinical_records WHERE run_id = 'bench-fhir'",
                        "DELETE FROM staged_cases WHERE run_id = 'bench-fhir'",
                        "DELETE FROM ingested_files WHERE run_id = 'bench-fhir'"):
                execute(conn, sql)
        return {}
    raise SystemExit(f"unknown scenario {scenario}")


def _run(scenario: str, path: Path | str = "") -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", scenario, str(path)],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if proc.returncode != 0:
        raise SystemExit(f"{scenario} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def concatenate(src: Path, dest: Path, times: int) -> int:
    """One PubmedArticleSet holding the file's articles `times` times, PMIDs shifted per copy
    (so each copy is staged as new citations). Streams line by line: never the whole file in memory."""
    pmid = re.compile(r'(<PMID Version="\d+">)(\d+)(</PMID>)')
    n = 0
    with gzip.open(dest, "wt", encoding="utf-8", compresslevel=1) as out:
        for k in range(times):
            with gzip.open(src, "rt", encoding="utf-8") as fh:
                for line in fh:
                    if "</PubmedArticleSet>" in line:
                        continue
                    if k and ("<?xml" in line or "<!DOCTYPE" in line or "<PubmedArticleSet>" in line):
                        continue
                    if k:
                        line = pmid.sub(lambda m, shift=k * 10_000_000: f"{m.group(1)}{int(m.group(2)) + shift}"
                                        f"{m.group(3)}", line)
                    n += line.count("<PubmedArticle>")
                    out.write(line)
        out.write("</PubmedArticleSet>\n")
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", nargs=2, metavar=("SCENARIO", "PATH"), help=argparse.SUPPRESS)
    ap.add_argument("--patients", type=int, default=20, help="synthetic patients for the FHIR figure")
    ap.add_argument("--skip-4x", action="store_true", help="skip the 4x memory check")
    ap.add_argument("--only", choices=("medline", "fhir"), help="run one part")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(*args.child)))
        return
    if os.environ.get("MEDKB_ENV") != "test":
        raise SystemExit("run with MEDKB_ENV=test: the benchmark writes to the test database")
    from medkb.settings import Settings
    from medkb.sources.sample_data import BASELINE, fetch_medline_sample

    settings = Settings.from_env()
    baseline = next(p for p in fetch_medline_sample(settings.data_dir) if p.name == BASELINE)
    _run("cleanup")
    if args.only != "fhir":
        _medline(baseline, args.skip_4x)
    if args.patients and args.only != "medline":
        _fhir(settings, args.patients)


def _medline(baseline: Path, skip_4x: bool) -> None:
    rows = []
    parse = _run("parse", baseline)
    rows.append(("parse 1x", parse))
    stage = _run("stage", baseline)
    rows.append(("parse+stage 1x", stage))
    validate = _run("validate")
    rows.append(("validate 1x (GX)", validate))
    total_s = stage["seconds"] + validate["seconds"]
    print(f"MEDLINE baseline {baseline.name}: {parse['records']} citations")
    for name, r in rows:
        print(f"  {name:<20} {r['records']:>7} rec  {r['seconds']:7.2f} s  {r['records'] / r['seconds']:8.0f} rec/s  "
              f"peak RSS {r['peak_mb']:6.0f} MB  (time x{r['seconds'] / parse['seconds']:.2f} of parse)")
    print(f"  parse -> stage -> validate: {parse['records'] / total_s:.0f} citations/s end to end "
          f"(quarantined {validate['quarantined']}, title-only warnings {validate['warned']})")
    _run("cleanup")
    if not skip_4x:
        with tempfile.TemporaryDirectory() as tmp:
            big = Path(tmp) / "baseline-4x.xml.gz"
            n4 = concatenate(baseline, big, 4)
            p4 = _run("parse", big)
            s4 = _run("stage", big)
            print(f"4x file ({n4} citations, {big.stat().st_size / 1e6:.0f} MB gz):")
            print(f"  parse       peak RSS {p4['peak_mb']:6.0f} MB vs {parse['peak_mb']:.0f} MB for 1x "
                  f"(ratio {p4['peak_mb'] / parse['peak_mb']:.2f}), {p4['records'] / p4['seconds']:.0f} rec/s")
            print(f"  parse+stage peak RSS {s4['peak_mb']:6.0f} MB vs {stage['peak_mb']:.0f} MB for 1x "
                  f"(ratio {s4['peak_mb'] / stage['peak_mb']:.2f}), {s4['records'] / s4['seconds']:.0f} rec/s")
        _run("cleanup")


def _fhir(settings: object, patients: int) -> None:
    from medkb.sources.sample_data import generate_patients

    with tempfile.TemporaryDirectory() as tmp:
        bundles = generate_patients(settings.data_dir, patients, inbox=Path(tmp))  # type: ignore[attr-defined]
        fhir = _run("fhir", tmp)
        mb = sum(b.stat().st_size for b in bundles) / 1e6
    print(f"FHIR: {fhir['records']} patients ({mb:.0f} MB of bundles, {fhir['facts']} clinical facts): "
          f"{fhir['records'] / fhir['stage_seconds']:.2f} patients/s read+pseudonymise+stage, "
          f"{fhir['records'] / fhir['seconds']:.2f} patients/s with validation; "
          f"validated {fhir['validated']}, quarantined {fhir['quarantined']}; peak RSS {fhir['peak_mb']:.0f} MB")
    _run("cleanup")

if __name__ == "__main__":
    main()
