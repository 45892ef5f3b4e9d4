"""Cut a slice of a MEDLINE file into a file of its own: the demo's and the tests' simulated nights.

A real night brings a new update file into the drop folder; with only two sample files on hand,
the demo and the DAG tests make "night 1", "night 2", ... by writing consecutive ranges of one
file's citations to separate, valid MEDLINE files (gzipped, no DOCTYPE, same elements).
"""

from __future__ import annotations

import gzip
from pathlib import Path
from xml.etree.ElementTree import iterparse, tostring

from medkb.sources.xml_files import open_source_file


def write_slice(source: Path, target: Path, start: int, stop: int) -> int:
    """Write citations [start, stop) of `source` (PubmedArticle elements) to `target` (.xml.gz);
    return how many were written. An existing target with the same content is left untouched, so
    re-running a demo does not make a "new" file."""
    parts: list[bytes] = []
    n = 0
    with open_source_file(source) as fh:
        for _event, el in iterparse(fh, events=("end",)):
            if el.tag != "PubmedArticle":
                continue
            if start <= n < stop:
                parts.append(tostring(el, encoding="utf-8"))
            n += 1
            el.clear()
            if n >= stop:
                break
    body = b'<?xml version="1.0" encoding="utf-8"?>\n<PubmedArticleSet>\n' + b"\n".join(parts) + b"\n</PubmedArticleSet>\n"
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and gzip.decompress(target.read_bytes()) == body:
        return len(parts)
    tmp = target.with_suffix(target.suffix + ".part")
    tmp.write_bytes(gzip.compress(body, mtime=0))
    tmp.replace(target)
    return len(parts)
