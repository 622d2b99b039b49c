"""The Airflow 3 UI, seen by a real browser: headless Debian Chromium driven over CDP
(radiostars.ui_screenshots). Logs in through the SimpleAuthManager form, as a person would."""

from __future__ import annotations

from pathlib import Path

import pytest

from radiostars import ui_screenshots as ui

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not Path(ui.CHROMIUM).exists(),
        reason=f"{ui.CHROMIUM} missing: apt-get install chromium (make setup installs it)",
    ),
]


@pytest.fixture(scope="module")
def browser(airflow_stack):
    with ui.Browser() as b:
        yield b


def test_login_page_renders_a_login_form(airflow_stack, browser):
    ui.open_login_page(browser, airflow_stack.airflow_url)
    assert browser.evaluate("document.querySelector('form button[type=submit]').innerText.trim()") == "Sign in"
    assert "Sign into Airflow" in browser.text()


def test_dag_list_renders_after_login(airflow_stack, browser):
    ui.login(browser, airflow_stack, "/dags")
    ui.open_dag_list(browser, airflow_stack.airflow_url)  # waits for the three DAG ids to render
    text = browser.text()
    for dag_id in ui.DAG_IDS:
        assert dag_id in text
    assert "Sign into Airflow" not in text


def test_capture_writes_both_screenshots(airflow_stack, tmp_path):
    paths = ui.capture(airflow_stack, tmp_path)
    assert [p.name for p in paths] == ["airflow-dags.png", "airflow-grid.png"]
    for p in paths:
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(data) > 20_000, f"{p.name} is suspiciously small ({len(data)} bytes): a blank page?"
