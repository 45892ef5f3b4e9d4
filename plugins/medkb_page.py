"""The MedKB page inside the Airflow UI: a FastAPI app on the api-server under /medkb, and a
top-level navigation entry that renders it inside the UI (`url_route`, Airflow 3.1+).

A plugin app is mounted without Airflow's authentication, so the whole app depends on Airflow's
own `requires_access_view(AccessView.PLUGINS)`: an anonymous request gets 401, a request with a
Bearer token (`POST /auth/token`) or the UI's `_token` cookie (the iframe inside the UI) passes.
The figures come from `medkb.overview.read_overview`, which only reads (READ ONLY transaction,
graph read transactions). The stores are the ones the DAGs use: the Airflow connections
`medkb_postgres` and `medkb_neo4j` when they resolve, else the MEDKB_* environment.

  GET /medkb/               the page (HTML, inline SVG charts)
  GET /medkb/api/overview   the same figures as JSON
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
from airflow.api_fastapi.core_api.security import requires_access_view
from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse
from medkb_page_html import render_page

from medkb.overview import read_overview
from medkb.settings import Settings

log = logging.getLogger(__name__)
URL_PREFIX = "/medkb"


def store_settings() -> Settings:
    """The stores the DAGs use: their Airflow connections if both resolve, else the environment."""
    try:
        from airflow.models.connection import Connection

        pg = Connection.get_connection_from_secrets("medkb_postgres").get_uri()
        graph = Connection.get_connection_from_secrets("medkb_neo4j").get_uri()
        return Settings.from_uris(pg, graph)
    except Exception as exc:  # noqa: BLE001  no connection defined: the documented environment
        log.info("medkb page: connections not usable (%s); reading MEDKB_* settings", type(exc).__name__)
        return Settings.from_env()


def create_app() -> FastAPI:
    app = FastAPI(
        title="MedKB",
        description="The state of the MedKB knowledge base, read-only.",
        dependencies=[Depends(requires_access_view(AccessView.PLUGINS))],
    )

    @app.get("/", response_class=HTMLResponse)
    def page() -> HTMLResponse:
        return HTMLResponse(render_page(read_overview(store_settings())))

    @app.get("/api/overview")
    def overview() -> JSONResponse:
        return JSONResponse(jsonable_encoder(read_overview(store_settings()).as_dict()))

    return app


app = create_app()


class MedKBPagePlugin(AirflowPlugin):
    """Registers the page app and its navigation entry (its own plugin, apart from the hook/operator)."""

    name = "medkb_page"
    fastapi_apps: list[dict[str, Any]] = [{"app": app, "url_prefix": URL_PREFIX, "name": "MedKB"}]
    external_views: list[dict[str, Any]] = [{
        "name": "MedKB",
        "href": f"{URL_PREFIX}/",
        "url_route": "medkb",
        "destination": "nav",
        "nav_top_level": True,
    }]
