"""Weekly refinement of the extraction model: refinement set, challenger on the GPU worker, gate.

Thin: each task calls one stage of `medkb.pipelines.model_refine.STAGES`. Training runs on the Celery queue `gpu`
(docker-compose.yml's GPU worker); the rest on the default queue.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Connection, Param, dag, get_current_context, task

from medkb.pipelines import model_refine
from medkb.settings import Settings

MODEL = Asset("medkb://registry/ner-champion")


def _settings() -> Settings:
    return Settings.from_uris(
        Connection.get("medkb_postgres").get_uri(), Connection.get("medkb_neo4j").get_uri()
    )


@dag(
    dag_id="medkb_model_refine",
    schedule="0 4 * * 0",
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["medkb", "weekly", "model"],
    default_args={"retries": int(os.environ.get("MEDKB_DAG_RETRIES", "1")), "retry_delay": timedelta(minutes=10)},
    params={
        "config": Param(str(model_refine.DEFAULT_CONFIG), type="string", description="training config (YAML)"),
        "silver_limit": Param(4000, type="integer", description="abstracts the champion labels for silver data (4,000 gave 2,965 sentences)"),
        "epochs": Param(None, type=["null", "integer"], description="override the config's epochs"),
    },
    doc_md=__doc__,
)
def medkb_model_refine():
    @task
    def build_refinement_set() -> dict:
        ctx = get_current_context()
        p = ctx["params"]
        return model_refine.build_refinement_set(_settings(), ctx["run_id"], limit=p["silver_limit"], config=p["config"])

    @task(queue="gpu", execution_timeout=timedelta(hours=6))
    def train_challenger(refinement: dict) -> dict:
        ctx = get_current_context()
        p = ctx["params"]
        return model_refine.train_challenger(_settings(), ctx["run_id"], refinement["path"], config=p["config"],
                                       epochs=p["epochs"])

    @task(outlets=[MODEL])
    def gate(challenger: dict) -> dict:
        return model_refine.gate_challenger(_settings(), challenger["version"])

    gate(train_challenger(build_refinement_set()))


medkb_model_refine()
