"""The library's layering rules, checked on the source: no Airflow in medkb/, data flows one way."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["sources", "staging", "validation", "nlp", "training", "kb", "rules"]
# Rooms every stage may use; they import no stage, no pipeline and no training.
GROUND = {"vocabulary": set(), "errors": set(), "settings": set(), "db": {"settings"},
          "registry": {"db", "settings", "vocabulary", "errors"}}
# Who may import medkb.training: the training pipeline, the CLI and training itself.
TRAINING_USERS = ("medkb/pipelines/model_refine.py", "medkb/commands/", "medkb/training/")
# Known exceptions, each with the issue that removes it (none left).
EXCEPTIONS: set[tuple[str, str]] = set()


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
        if parts[0] == "medkb" and len(parts) > 1 and parts[1] in STAGES and not _excepted(path, name):
            assert STAGES.index(parts[1]) <= mine, f"{path.name} imports {name}, a later stage"


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _excepted(path: Path, name: str) -> bool:
    return any(_rel(path) == where and (name == what or name.startswith(what + ".")) for where, what in EXCEPTIONS)


def _medkb_imports(path: Path) -> set[str]:
    """`medkb.x.y` -> `medkb.x`, also for `from medkb import x`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("medkb."))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "medkb":
                out.update(f"medkb.{a.name}" for a in node.names)
            elif node.module.startswith("medkb."):
                out.add(node.module)
    return out


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_training_pipeline_and_the_cli_import_training(path):
    rel = _rel(path)
    if rel.startswith(TRAINING_USERS):
        return
    for name in _medkb_imports(path):
        if name == "medkb.training" or name.startswith("medkb.training."):
            assert _excepted(path, name), f"{rel} imports {name}: only {TRAINING_USERS} may use training/"


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_ground_floor_imports_no_room_above_it(path):
    rel = path.relative_to(ROOT / "medkb").parts
    room = rel[0].removesuffix(".py")
    if room not in GROUND:
        return
    for name in _medkb_imports(path):
        other = name.split(".")[1]
        assert other == room or other in GROUND[room], f"{_rel(path)} imports {name}, above the ground floor"


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_stage_imports_a_pipeline(path):
    rel = path.relative_to(ROOT / "medkb").parts
    if rel[0] not in STAGES and rel[0] not in GROUND:
        return
    assert not any(n.startswith("medkb.pipelines") for n in _medkb_imports(path)), f"{_rel(path)} imports a pipeline"


def test_dag_files_import_only_airflow_sdk_and_medkb():
    for path in (ROOT / "dags").glob("*.py"):
        for name in _imports(path):
            if name.startswith("airflow"):
                assert name == "airflow.sdk" or name.startswith("airflow.sdk."), f"{path.name}: {name}"
