"""The weekly refinement DAG, run for real with dag.test() on a tiny training config."""

import os
import subprocess
from pathlib import Path

import pytest

from medkb import registry
from medkb.db.postgres import connect

pytestmark = [pytest.mark.integration, pytest.mark.airflow, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dag(settings, monkeypatch, tmp_path):
    monkeypatch.setenv("MEDKB_DAG_RETRIES", "0")
    monkeypatch.setenv("MEDKB_MODEL_REGISTRY", str(tmp_path / "registry"))
    subprocess.run(["airflow", "db", "migrate"], check=True, capture_output=True)
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    return bag.get_dag("medkb_model_refine")


def test_weekly_refinement_trains_registers_and_gates(dag, tiny_refinement, settings):
    config = tiny_refinement

    dr = dag.test(run_conf={"config": str(config), "silver_limit": 20, "epochs": None})
    assert "success" in str(dr.state), f"DAG run ended {dr.state}"

    with connect(settings) as conn:
        models = registry.list_models(conn)
        assert len(models) == 1
        challenger = models[0]
        # a one-layer model trained on four abstracts cannot pass the first-champion bar
        assert challenger.status == "challenger"
        assert registry.champion(conn) is None
        decisions = registry.decisions(conn, challenger.version)
    assert len(decisions) == 1
    assert "no champion yet" in str(decisions[0]) and "< minimum bar" in str(decisions[0])
    model_dir = Path(os.environ["MEDKB_MODEL_REGISTRY"]) / challenger.version
    assert (model_dir / "model.safetensors").exists()
    assert list((Path(os.environ["MEDKB_MODEL_REGISTRY"]) / "refinement").glob("*.PubTator.txt"))
