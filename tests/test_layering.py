"""The library's layering rules, checked on the source: no Airflow in medkb/, data flows one way."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["sources", "staging", "validation", "nlp", "training", "kb", "rules"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


LIBRARY = sorted((ROOT / "medkb").rglob("*.py"))


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(ROOT)))
def test_library_never_imports_airflow(path):
    assert not any(n == "airflow" or n.startswith("airflow.") for n in _imports(path))


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_stage_imports_a_later_stage(path):
    rel = path.relative_to(ROOT / "medkb").parts
    if rel[0] not in STAGES:
        return
    mine = STAGES.index(rel[0])
    for name in _imports(path):
        parts = name.split(".")
        if parts[0] == "medkb" and len(parts) > 1 and parts[1] in STAGES:
            # training builds models from nlp's data handling; kb may read from training's registry? no.
            assert STAGES.index(parts[1]) <= mine, f"{path.name} imports {name}, a later stage"


def test_dag_files_import_only_airflow_sdk_and_medkb():
    for path in (ROOT / "dags").glob("*.py"):
        for name in _imports(path):
            if name.startswith("airflow"):
                assert name == "airflow.sdk" or name.startswith("airflow.sdk."), f"{path.name}: {name}"
