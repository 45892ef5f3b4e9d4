"""The named analyst queries: one `.cypher` file each, documented by its header comments.

Header lines: `// name:`, `// description:`, and one `// param: NAME (TYPE, required|default V) text`
per parameter. Defaults are filled in here, so a query can say `LIMIT $limit` directly.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

QUERY_DIR = Path(__file__).parent
_PARAM = re.compile(r"^(\w+)\s+\(([^,)]+)(?:,\s*(required|default\s+(.+?)))?\)\s*(.*)$")


class QueryError(ValueError):
    """A named query is unknown or got bad parameters; the message lists what it expects."""


@dataclass(frozen=True)
class QueryParam:
    name: str
    type: str
    required: bool
    default: Any
    description: str


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    params: tuple[QueryParam, ...]
    text: str
    path: Path

    def usage(self) -> str:
        parts = [f"{self.name}: {self.description}"]
        for p in self.params:
            req = "required" if p.required else f"default {p.default!r}"
            parts.append(f"  --param {p.name}=…  ({p.type}, {req}) {p.description}")
        return "\n".join(parts)

    def bind(self, given: dict[str, Any]) -> dict[str, Any]:
        """Check the parameters against the header and fill in defaults."""
        known = {p.name for p in self.params}
        unknown = sorted(set(given) - known)
        if unknown:
            raise QueryError(f"query {self.name}: unknown parameter(s) {unknown}\n{self.usage()}")
        out = dict(given)
        for p in self.params:
            if p.name not in out:
                if p.required:
                    raise QueryError(f"query {self.name}: missing --param {p.name}=…\n{self.usage()}")
                out[p.name] = p.default
        return out


def parse_query(path: Path) -> NamedQuery:
    text = path.read_text(encoding="utf-8")
    name, description, params = path.stem, "", []
    for line in text.splitlines():
        if not line.startswith("//"):
            continue
        key, _, value = line[2:].strip().partition(":")
        value = value.strip()
        if key == "name":
            name = value
        elif key == "description":
            description = value
        elif key == "param":
            m = _PARAM.match(value)
            if not m:
                raise QueryError(f"{path.name}: cannot read param line {value!r}")
            pname, ptype, flag, default, desc = m.groups()
            params.append(QueryParam(pname, ptype.strip(), flag == "required",
                                     json.loads(default) if default else None, desc))
    if name != path.stem or not description:
        raise QueryError(f"{path.name}: header needs `// name: {path.stem}` and a `// description:` line")
    return NamedQuery(name, description, tuple(params), text, path)


def all_queries() -> dict[str, NamedQuery]:
    return {q.name: q for q in (parse_query(p) for p in sorted(QUERY_DIR.glob("*.cypher")))}


def get_query(name: str) -> NamedQuery:
    queries = all_queries()
    if name not in queries:
        raise QueryError(f"no named query {name!r}; available: {', '.join(sorted(queries))}")
    return queries[name]
