"""Two extractors that disagree, and abstracts they disagree on, for the re-extraction tests.

Model A (`dict-A`) is the dictionary of issue 17's complaint: it knows "strain" as a disease
(Sprains and Strains), so every rat strain becomes a fact. Model B (`dict-B`) drops that name and
knows amphetamine, which A does not. Both link names through the same normaliser.
"""

from __future__ import annotations

from typing import Any

from medkb.nlp.dictionary import DictionaryTagger
from medkb.nlp.extract import Extractor
from medkb.nlp.normalise import Normaliser
from medkb.nlp.vocab import Entry

LITHIUM, HALOPERIDOL, CISPLATIN, AMPHETAMINE = "MESH:D008094", "MESH:D006220", "MESH:D002945", "MESH:D000661"
TREMOR, NEPHRO, SEIZURES, STRAINS, HYPERTENSION = (
    "MESH:D014202", "MESH:D007674", "MESH:D012640", "MESH:D013180", "MESH:D006973")

_COMMON = [
    Entry("lithium", LITHIUM, "Chemical", "gold"), Entry("haloperidol", HALOPERIDOL, "Chemical", "gold"),
    Entry("cisplatin", CISPLATIN, "Chemical", "gold"), Entry("tremor", TREMOR, "Disease", "gold"),
    Entry("nephrotoxicity", NEPHRO, "Disease", "gold"), Entry("seizures", SEIZURES, "Disease", "gold"),
    Entry("hypertension", HYPERTENSION, "Disease", "gold"),
]
ONLY_A = [Entry("strain", STRAINS, "Disease", "gold")]
ONLY_B = [Entry("amphetamine", AMPHETAMINE, "Chemical", "gold")]

_TEMPLATES = [
    ("Lithium-induced tremor in rats", "Lithium caused tremor in the Wistar strain. Doses were {n} mg."),
    ("Cisplatin nephrotoxicity", "Cisplatin induced nephrotoxicity in {n} patients."),
    ("Amphetamine and seizures", "Seizures occurred after amphetamine overdose in {n} cases."),
    ("Haloperidol and tremor", "Haloperidol caused tremor; the strain of {n} mice was resistant."),
    ("Lithium exposure", "Lithium exposure in the Fischer strain led to hypertension after {n} weeks."),
    ("Rat strain", "The Sprague-Dawley strain was kept for {n} days."),  # B finds nothing here
]


def staged_rows(n: int = 12, first_pmid: int = 1000) -> list[dict[str, Any]]:
    """`n` abstracts cycling through the templates, as staged_documents rows."""
    rows = []
    for i in range(n):
        title, abstract = _TEMPLATES[i % len(_TEMPLATES)]
        pmid = str(first_pmid + i)
        rows.append({"source": "medline", "source_key": pmid, "version": 1, "title": title,
                     "abstract": abstract.format(n=i + 2), "content_hash": f"h-{pmid}", "pub_year": 2020,
                     "journal": "J Test"})
    return rows


def stage(conn: Any, rows: list[dict[str, Any]], state: str = "validated", run_id: str = "stage-test") -> None:
    with conn.cursor() as cur:
        for r in rows:
            cur.execute(
                """INSERT INTO staged_documents (source, source_key, version, title, abstract, content_hash,
                                                 pub_year, journal, state, run_id)
                   VALUES (%(source)s, %(source_key)s, %(version)s, %(title)s, %(abstract)s, %(content_hash)s,
                           %(pub_year)s, %(journal)s, %(state)s, %(run)s)""",
                {**r, "state": state, "run": run_id},
            )
    conn.commit()


def extractor(name: str) -> Extractor:
    """`A` or `B`: a dictionary tagger with its own names and version, the shared normaliser."""
    entries = [*_COMMON, *(ONLY_A if name == "A" else ONLY_B)]
    tagger = DictionaryTagger(entries)
    tagger.version = f"dict-{name}"
    return Extractor(tagger, Normaliser([*_COMMON, *ONLY_A, *ONLY_B]))


SUMMARY_EDGES = """
MATCH (s)-[i:INDUCES|TREATS|ASSOCIATED_WITH]->(o)
RETURN type(i) AS type, s.id AS s, o.id AS o, properties(i) AS props ORDER BY type, s, o
"""
