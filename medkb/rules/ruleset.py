"""Rule files: YAML under version control, validated on load against a pydantic schema.

A rule names a diagnosis (SNOMED CT and ICD-10-CM codes, the ICD code checked against
`simple-icd-10-cm`), a strength, a recommendation, and a `when` tree of criteria (rules/criteria.py)
combined with `all`, `any` and `not`. An unknown field, a bad code or a wrong type is a
RuleFileError naming the file, the rule and the field; `load_rulesets` reports each bad file and
goes on with the good ones. The rule set's version is a hash of the files' content, so editing any
rule is a new version (which makes `diagnose --changed` re-evaluate every case).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator

from medkb.rules.codes import icd10cm_error, snomed_error
from medkb.rules.criteria import REGISTRY, Criterion

log = logging.getLogger(__name__)

RULES_DIR = Path(__file__).resolve().parent / "library" / "rules"


class RuleFileError(ValueError):
    """A rule file does not validate; the message names the file, the rule and the field."""


def _node_tag(v: Any) -> str | None:
    if isinstance(v, dict):
        for key in ("all", "any", "not"):
            if key in v:
                return key
        return v.get("kind")
    return getattr(v, "kind", None) or getattr(v, "tag", None)


class AllOf(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    all: list[Node] = Field(min_length=1)


class AnyOf(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    any: list[Node] = Field(min_length=1)


class NotOf(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    not_: Node = Field(alias="not")


def _node_type() -> Any:
    members = [Annotated[AllOf, Tag("all")], Annotated[AnyOf, Tag("any")], Annotated[NotOf, Tag("not")]]
    members += [Annotated[cls, Tag(name)] for name, cls in REGISTRY.items()]
    from typing import Union

    return Annotated[Union[tuple(members)], Discriminator(  # noqa: UP007 - built from the registry
        _node_tag, custom_error_type="unknown_criterion",
        custom_error_message=f"not a known criterion: give all/any/not or a kind among {sorted(REGISTRY)}")]


Node = _node_type()
AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()


class Diagnosis(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1)
    snomed: str
    icd10cm: str

    @field_validator("snomed")
    @classmethod
    def _snomed(cls, v: str) -> str:
        if err := snomed_error(v):
            raise ValueError(err)
        return v

    @field_validator("icd10cm")
    @classmethod
    def _icd(cls, v: str) -> str:
        if err := icd10cm_error(v):
            raise ValueError(err)
        return v


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z0-9_.-]+$")
    version: int = Field(ge=1)
    description: str = ""
    diagnosis: Diagnosis
    strength: Literal["possible", "probable", "definite"]
    recommendation: str = Field(min_length=1)
    when: Node


class RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    rules: list[Rule] = Field(min_length=1)


class RuleSet(BaseModel):
    model_config = ConfigDict(frozen=True)
    version: str  # content hash of the files
    rules: tuple[Rule, ...]
    files: tuple[str, ...]
    errors: tuple[str, ...] = ()

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(f"no rule {rule_id!r} in the rule set (rules: {', '.join(r.id for r in self.rules)})")


def _describe(exc: ValidationError, raw: Any, path: Path) -> str:
    lines = []
    for err in exc.errors()[:5]:
        loc = list(err["loc"])
        rule = "?"
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            rules = raw.get("rules") if isinstance(raw, dict) else None
            item = rules[loc[1]] if isinstance(rules, list) and loc[1] < len(rules) else None
            rule = str(item.get("id")) if isinstance(item, dict) and item.get("id") else f"#{loc[1] + 1}"
            loc = loc[2:]
        # the discriminator's tags (criterion kinds) are noise in the path a person reads
        kept: list[str] = []
        for x in map(str, loc):
            if x in REGISTRY or (x in ("all", "any", "not") and kept and kept[-1] == x):
                continue  # union tags repeat the key or name the kind: noise in a path a person reads
            kept.append(x)
        field_path = ".".join(kept)
        kind = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"{path.name}: rule {rule}: field {field_path or '(top)'}: {kind}")
    more = len(exc.errors()) - 5
    return "; ".join(lines) + (f"; and {more} more" if more > 0 else "")


def load_rule_file(path: Path) -> list[Rule]:
    """Validate one rule file; raises RuleFileError naming the file, rule and field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise RuleFileError(f"{path.name}: not valid YAML{where}; fix the syntax") from None
    except OSError as exc:
        raise RuleFileError(f"{path.name}: cannot read ({exc.strerror})") from None
    try:
        parsed = RuleFile.model_validate(raw)
    except ValidationError as exc:
        raise RuleFileError(_describe(exc, raw, path)) from None
    ids = [r.id for r in parsed.rules]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise RuleFileError(f"{path.name}: rule {dup[0]}: field id: defined more than once in the file")
    return list(parsed.rules)


def load_rulesets(paths: Iterable[Path] | None = None, strict: bool = False) -> RuleSet:
    """Every rule file under the given files/folders (default: the library's rules).

    A bad file is logged and listed in `errors` while the good files load (strict=True raises
    instead); two files defining the same rule id is an error for the second one.
    """
    files: list[Path] = []
    for p in map(Path, paths or [RULES_DIR]):
        files.extend(sorted(p.glob("*.yaml")) if p.is_dir() else [p])
    rules: list[Rule] = []
    errors: list[str] = []
    digest = hashlib.sha256()
    seen: dict[str, str] = {}
    for f in files:
        try:
            file_rules = load_rule_file(f)
            for r in file_rules:
                if r.id in seen:
                    raise RuleFileError(f"{f.name}: rule {r.id}: field id: already defined in {seen[r.id]}")
        except RuleFileError as exc:
            if strict:
                raise
            log.error("rule file skipped: %s", exc)
            errors.append(str(exc))
            continue
        for r in file_rules:
            seen[r.id] = f.name
        rules.extend(file_rules)
        digest.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return RuleSet(version=f"rules-{digest.hexdigest()[:12]}", rules=tuple(rules),
                   files=tuple(f.name for f in files), errors=tuple(errors))


def criterion_tree(node: Any) -> Iterable[Criterion]:
    """Every leaf criterion of a `when` tree."""
    if isinstance(node, AllOf):
        for n in node.all:
            yield from criterion_tree(n)
    elif isinstance(node, AnyOf):
        for n in node.any:
            yield from criterion_tree(n)
    elif isinstance(node, NotOf):
        yield from criterion_tree(node.not_)
    else:
        yield node
