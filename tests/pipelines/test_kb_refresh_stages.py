"""`medkb refresh` and the DAG medkb_kb_refresh run the same stages, and a night needs a source."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest

from medkb.cli import main
from medkb.pipelines import kb_refresh

ROOT = Path(__file__).resolve().parents[2]
DAG_FILE = ROOT / "dags" / "medkb_kb_refresh.py"
BOOKENDS = {"begin", "finish"}


def _dag_stage_tasks() -> dict[str, str | None]:
    """Each @task in the DAG file -> the stage name its body passes to `_stage(...)` (None if it calls none)."""
    tree = ast.parse(DAG_FILE.read_text())
    tasks: dict[str, str | None] = {}
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef):
            continue
        decorators = [d.func if isinstance(d, ast.Call) else d for d in fn.decorator_list]
        if not any(isinstance(d, ast.Name) and d.id == "task" for d in decorators):
            continue
        called = [c.args[0].value for c in ast.walk(fn) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)
                  and c.func.id == "_stage" and c.args and isinstance(c.args[0], ast.Constant)]
        tasks[fn.name] = called[0] if called else None
    return tasks


def _dag_tasks_of_stages() -> set[str]:
    return {t for s in kb_refresh.STAGES for t in kb_refresh.DAG_TASKS.get(s.name, (s.name,))}


def test_every_dag_task_runs_the_stage_of_its_own_name_and_the_stages_are_the_list():
    tasks = _dag_stage_tasks()
    assert set(tasks) - BOOKENDS == _dag_tasks_of_stages()
    split = {t for ts in kb_refresh.DAG_TASKS.values() for t in ts}
    for name, stage in tasks.items():
        if name not in BOOKENDS | split:
            assert stage == name, f"DAG task {name} runs stage {stage!r}"


def test_medkb_refresh_runs_every_stage_in_order(monkeypatch, tmp_path, capsys):
    ran: list[str] = []
    seen: list[kb_refresh.RefreshParams] = []

    def recorder(name):
        def run(settings, run_id, params):
            ran.append(name)
            seen.append(params)
            return {"stage": name}
        return run

    monkeypatch.setattr(kb_refresh, "STAGES", tuple(replace(s, run=recorder(s.name)) for s in kb_refresh.STAGES))
    monkeypatch.setattr(kb_refresh, "begin", lambda settings, run_id, params: ran.append("begin") or run_id)
    monkeypatch.setattr(kb_refresh, "finish", lambda settings, run_id, counts: ran.append("finish") or {"counts": counts})
    assert main(["refresh", "--run-id", "r1", "--file", str(tmp_path / "a.xml.gz"), "--limit", "5"]) == 0
    assert ran == ["begin", *(s.name for s in kb_refresh.STAGES), "finish"]
    assert set(ran) - BOOKENDS == {s.name for s in kb_refresh.STAGES}
    assert _dag_tasks_of_stages() == set(_dag_stage_tasks()) - BOOKENDS
    assert seen[0].medline_files == (str(tmp_path / "a.xml.gz"),) and seen[0].limit == 5
    assert '"load": {' in capsys.readouterr().out  # counts keyed as the DAG's finish keys them


def test_a_night_without_a_literature_source_fails_and_says_how_to_configure_one(settings):
    with pytest.raises(kb_refresh.NoLiteratureSource, match=r"no literature source.*medline_files.*--file.*pubmed"):
        kb_refresh.run_stage("ingest_literature", settings, "night-x", kb_refresh.RefreshParams())
    with pytest.raises(kb_refresh.NoLiteratureSource, match="make demo"):
        kb_refresh.ingest_literature(settings, "night-x")


def test_pubmed_or_an_empty_drop_folder_is_a_source_with_nothing_to_stage_here(settings, tmp_path):
    assert kb_refresh.run_stage("ingest_literature", settings, "n", kb_refresh.RefreshParams(pubmed=True)) == {"files": 0}
    quiet = kb_refresh.RefreshParams(medline_drop_dir=str(tmp_path))
    assert kb_refresh.run_stage("ingest_literature", settings, "n", quiet) == {"files": 0}
    (tmp_path / "b.xml.gz").write_bytes(b"")
    (tmp_path / "a.xml").write_bytes(b"")
    both = kb_refresh.RefreshParams(medline_files=("x.xml",), medline_drop_dir=str(tmp_path))
    assert both.literature_files() == ["x.xml", str(tmp_path / "a.xml"), str(tmp_path / "b.xml.gz")]


def test_dag_params_become_refresh_params():
    p = kb_refresh.RefreshParams.from_params(
        {"medline_files": ["a"], "limit": 3, "pubmed": True, "pubmed_term": "t", "fhir_drop_dir": "f"}, until="2026-12-01")
    assert p == kb_refresh.RefreshParams(("a",), None, 3, True, "t", "2026-12-01", "f")
