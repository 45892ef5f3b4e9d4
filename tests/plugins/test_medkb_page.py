"""The MedKB page on a real api-server (ops/airflow.sh): anonymous requests get 401, a token from
POST /auth/token gets the page, and its figures equal the stores' own counts; then a real browser
(headless Chromium from Debian, driven by Selenium through chromium-driver) logs in on Airflow's
login page, opens the MedKB entry from the navigation, finds the figures inside the UI and saves
a screenshot under .local/ (outside git) that must not be blank. One Airflow start for the module
(40-100 s on 2 shared cores), so the module is marked slow."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from medkb.db.postgres import execute, fetch_all
from medkb.staging.quarantine import QuarantineEntry, put
from tests.ops.local_airflow import LocalAirflow, free_port, started

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SLICE = ROOT / "tests" / "fixtures" / "medline" / "pubmed20n0014_first50.xml.gz"
SCREENSHOT = ROOT / ".local" / "screenshots" / "medkb-page.png"
PASSWORD = "page-test-admin"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAirflow]:
    with started(LocalAirflow(tmp_path_factory.mktemp("airflow-home"), free_port(), PASSWORD)) as af:
        yield af


@pytest.fixture
def stores(pg: Any, graph: Any, settings: Any) -> dict[str, Any]:
    """Real data in both stores: 50 MEDLINE citations staged and validated, two quarantined records,
    a champion and a rejected challenger in the registry, documents in the graph. Returns what the
    stores themselves count, for the page to match."""
    from medkb.pipelines import kb_refresh

    kb_refresh.ingest_literature(settings, "page-night", [str(SLICE)])
    kb_refresh.validate_literature(settings, "page-night")
    reason = [{"expectation": "expect_column_values_to_not_be_null", "column": "title", "message": "no title"}]
    put(pg, [QuarantineEntry("medline", f"9900{i}", 1, "validate", reason, {"pmid": f"9900{i}"}) for i in range(2)],
        "page-night")
    metrics = {"primary": "CDR_DevelopmentSet", "dev": {"CDR_DevelopmentSet": {"micro": {"precision": 87.9, "recall": 89.1, "f1": 88.5}}}}
    for version, status in (("ner-20261130-1", "champion"), ("ner-20261130-2", "challenger")):
        execute(pg, "INSERT INTO model_registry (version, kind, path, metrics, status) VALUES (%s, 'ner', '/m', %s, %s)",
                (version, json.dumps(metrics), status))
    execute(pg, "INSERT INTO model_decisions (kind, version, against, action, reasons) VALUES "
                "('ner', 'ner-20261130-2', 'ner-20261130-1', 'reject', %s)",
            (json.dumps(["micro F1 88.10 vs champion 88.50: gain -0.40 < margin 0.30"]),))
    pg.commit()
    graph.write("UNWIND range(1, 7) AS i CREATE (:Document {pmid: toString(i)})")
    count = lambda sql: fetch_all(pg, sql)[0]["n"]  # noqa: E731
    return {
        "documents_30": count("SELECT count(*) AS n FROM staged_documents WHERE staged_at > now() - interval '29 days'"),
        "quarantined_total": count("SELECT count(*) AS n FROM quarantine WHERE status = 'quarantined'"),
        "champion": fetch_all(pg, "SELECT version FROM model_registry WHERE status = 'champion'")[0]["version"],
        "sources": {r["source"]: r["position"] for r in fetch_all(pg, "SELECT source, position FROM source_watermarks")},
        "graph_documents": graph.read("MATCH (d:Document) RETURN count(d) AS n")[0]["n"],
    }


def figure(html: str, name: str) -> str:
    m = re.search(rf'data-figure="{name}">([^<]*)<', html)
    assert m, f"no figure {name} on the page"
    return m.group(1)


def test_anonymous_requests_get_401_and_a_bad_token_is_refused(api: LocalAirflow) -> None:
    for path in ("/medkb/", "/medkb/api/overview"):
        assert api.request("GET", path)[0] == 401
    assert api.request("GET", "/medkb/", token="not-a-jwt")[0] in (401, 403)


def test_the_page_with_a_token_shows_the_stores_counts(api: LocalAirflow, stores: dict[str, Any]) -> None:
    token = api.token()
    code, data = api.request("GET", "/medkb/api/overview", token=token)
    assert code == 200, data
    assert sum(n["documents"] for n in data["nights"]) == stores["documents_30"] == 50
    assert data["quarantined_total"] == stores["quarantined_total"] == 2
    assert [c["version"] for c in data["champions"]] == [stores["champion"]]
    assert {s["source"]: s["window"] for s in data["sources"]} == stores["sources"] and stores["sources"]
    assert data["graph"]["documents"] == stores["graph_documents"] == 7
    assert data["decisions"][0]["action"] == "reject"

    code, html = api.request("GET", "/medkb/", token=token)
    assert code == 200 and html.startswith("<!doctype html>")
    assert figure(html, "documents_30") == f"{stores['documents_30']:,}"
    assert figure(html, "quarantined_total") == str(stores["quarantined_total"])
    assert figure(html, "graph_documents") == str(stores["graph_documents"])
    assert stores["champion"] in html and "expect_column_values_to_not_be_null" in html
    # the UI's own cookie works as well as the header: that is what the iframe inside the UI sends
    assert api.request("GET", "/medkb/", cookie=f"_token={token}")[0] == 200


def _chromium() -> tuple[str, str]:
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not binary or not driver:
        pytest.fail("chromium and chromium-driver are missing: `make install-system` installs Debian's packages")
    return binary, driver


def test_a_browser_logs_in_and_opens_the_medkb_page_from_the_navigation(api: LocalAirflow, stores: dict[str, Any]) -> None:
    from PIL import Image
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    binary, driver_path = _chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1100"):
        options.add_argument(arg)
    browser = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        wait = WebDriverWait(browser, 90)
        browser.get(api.url + "/")
        wait.until(ec.presence_of_element_located((By.NAME, "username"))).send_keys("admin")
        browser.find_element(By.NAME, "password").send_keys(PASSWORD)
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        entry = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "a[href$='/plugin/medkb']")))
        assert "MedKB" in (entry.text or entry.get_attribute("title") or entry.get_attribute("aria-label") or "")
        entry.click()
        wait.until(ec.frame_to_be_available_and_switch_to_it((By.CSS_SELECTOR, "iframe[src*='/medkb/']")))
        shown = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-figure='documents_30']")))
        assert shown.text == f"{stores['documents_30']:,}"
        assert browser.find_element(By.CSS_SELECTOR, "[data-figure='quarantined_total']").text == str(
            stores["quarantined_total"])
        assert stores["champion"] in browser.find_element(By.CSS_SELECTOR, "[data-figure='champions']").text
        assert len(browser.find_elements(By.CSS_SELECTOR, "svg[data-series]")) == 4
        browser.switch_to.default_content()
        # the UI's own route for the plugin (it appends the page's path: /plugin/medkb/medkb/)
        assert "/plugin/medkb" in browser.current_url, browser.current_url
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(SCREENSHOT))
    finally:
        browser.quit()
    with Image.open(SCREENSHOT) as img:
        small = img.convert("RGB").resize((140, 110))
        colours = small.getcolors(maxcolors=140 * 110) or []
        assert img.size[0] >= 1000 and img.size[1] >= 800, img.size
    assert len(colours) > 20, f"the screenshot {SCREENSHOT} looks blank ({len(colours)} colours)"
    most = max(n for n, _ in colours)
    assert most < 0.95 * 140 * 110, "one colour covers almost all of the screenshot"
