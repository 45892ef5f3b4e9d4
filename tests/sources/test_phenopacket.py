"""The phenopacket reader on real cases from the dev split (tests/fixtures/phenopackets: the first
dev case written out as a full v2 phenopacket, and flattened lines with damaged ones among them)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from medkb.errors import SourceFileError
from medkb.sources.hpo_ids import build_id_map, read_hpo_id_map
from medkb.sources.phenopacket import PhenopacketCase, phenopacket_files, read_phenopackets
from medkb.sources.pseudonym import Pseudonymiser
from medkb.sources.rejected import Rejected

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "phenopackets"
PACKET = FIXTURES / "PMID_15266616_100.json"
LINES = FIXTURES / "cases.jsonl.gz"
P = Pseudonymiser("test-key")


def _live_ids() -> set[str]:
    ids = set()
    for line in gzip.open(LINES, "rt"):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        ids.update(rec.get("observed", []) + rec.get("excluded", []))
    ids.update(f["type"]["id"] for f in json.loads(PACKET.read_text())["phenotypicFeatures"])
    return ids - {"HP:0009998", "HP:9999999"}


IDS = build_id_map(_live_ids() | {"HP:0000518"}, {"HP:0009998": "HP:0000518"})


def test_hp_obo_obsolete_ids_map_to_their_replacement():
    ids = read_hpo_id_map(Path(__file__).resolve().parents[1] / "fixtures" / "phenotype_ranking" / "hp.obo")
    assert ids.resolve("HP:0009998") == ("HP:0000518", "replaced")
    assert ids.resolve("HP:0001275") == ("HP:0001250", "replaced")  # an alt_id
    assert ids.resolve("HP:0009997") == (None, "obsolete")
    assert ids.resolve("HP:1234567") == (None, "unknown")


def test_a_v2_phenopacket_parses_into_a_pseudonymised_case():
    pytest.importorskip("phenopackets")
    (case,) = list(read_phenopackets(PACKET, P, IDS))
    assert isinstance(case, PhenopacketCase)
    assert case.key == P.token("PMID_15266616_100") and "PMID_15266616" not in case.origin
    assert (case.sex, case.age, case.onset) == ("female", "P4Y", "HP:0003577")
    assert (case.diagnosis, case.reference) == ("OMIM:147791", "PMID:15266616")
    assert len(case.observed) == 5 and len(case.excluded) == 3


def test_a_phenopacket_with_a_field_the_schema_lacks_is_rejected(tmp_path):
    pytest.importorskip("phenopackets")
    data = json.loads(PACKET.read_text())
    data["subject"]["favouriteColour"] = "blue"
    path = tmp_path / "PMID_1_1.json"
    path.write_text(json.dumps(data))
    (rec,) = list(read_phenopackets(path, P, IDS))
    assert isinstance(rec, Rejected) and rec.check == "valid_phenopacket"
    assert "favouriteColour" in rec.reason and "PMID_1_1" not in rec.reason
    assert rec.payload["id"] == P.token("PMID_15266616_100")  # the payload is kept, its ids hashed
    assert "description" not in json.dumps(rec.payload)


def test_a_phenopacket_without_a_diagnosis_is_rejected_naming_the_case(tmp_path):
    pytest.importorskip("phenopackets")
    data = json.loads(PACKET.read_text())
    data.pop("interpretations")
    data.pop("diseases")
    path = tmp_path / "x.json"
    path.write_text(json.dumps(data))
    (rec,) = list(read_phenopackets(path, P, IDS))
    assert isinstance(rec, Rejected) and rec.check == "diagnosis_present"
    assert P.token("PMID_15266616_100")[:12] in rec.reason and "no diagnosis" in rec.reason


def test_malformed_json_is_rejected_with_its_reason(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"id": "PMID_1_2", "subject": ')
    (rec,) = list(read_phenopackets(path, P, IDS))
    assert isinstance(rec, Rejected) and rec.check == "valid_json" and "not valid JSON" in rec.reason


def test_flattened_lines_bad_ones_rejected_the_rest_read():
    out = list(read_phenopackets(LINES, P, IDS))
    cases = [r for r in out if isinstance(r, PhenopacketCase)]
    rejected = [r for r in out if isinstance(r, Rejected)]
    assert len(cases) == 4 and len(rejected) == 2
    assert {r.check for r in rejected} == {"diagnosis_present", "valid_json"}
    odd = cases[-1]
    assert "HP:0000518" in odd.observed and "HP:0009998" not in odd.observed
    assert {(n.hpo_id, n.status) for n in odd.notes} == {("HP:0009998", "replaced"), ("HP:9999999", "unknown")}
    assert all(c.reference and c.reference.startswith("PMID:") for c in cases)


def test_an_unreadable_file_raises_naming_it_by_label(tmp_path):
    path = tmp_path / "PMID_2_1.jsonl.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(SourceFileError) as err:
        list(read_phenopackets(path, P, IDS))
    assert "PMID_2_1" not in str(err.value) and "file-" in str(err.value)


def test_folders_are_searched_for_phenopacket_files(tmp_path):
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "b.jsonl.gz").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("")
    assert [p.name for p in phenopacket_files([tmp_path])] == ["a.json", "b.jsonl.gz"]
