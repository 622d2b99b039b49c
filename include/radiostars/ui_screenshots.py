"""Screenshots of the Airflow 3 UI for the docs, taken by headless Chromium (Debian's `chromium`).

The browser is driven over the Chrome DevTools Protocol (CDP) with `websockets` (already in the
lock), so there is no browser download and no Node driver. Login goes through the real UI: the
SimpleAuthManager login page (/auth/login) is filled in and submitted; on success its SPA stores the
JWT in the `_token` cookie and redirects to `next`, which is what the main UI reads.

    python -m radiostars.ui_screenshots [--out docs/img] [--dag-id DAG]

writes airflow-dags.png (the DAG list) and airflow-grid.png (the grid of the newest finished run).
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

from radiostars.config import Settings
from radiostars.errors import RadiostarsError

CHROMIUM = "/usr/bin/chromium"  # Debian package `chromium` (make setup installs it)
DAG_IDS = ("catalogue_ingestion", "radio_star_crossmatch", "warehouse_publish")
FINISHED = ("success", "failed")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
]


class UiError(RadiostarsError):
    pass


class Browser:
    """One headless Chromium with one page, driven over CDP (flattened target sessions)."""

    def __init__(self, executable: str = CHROMIUM, width: int = 1440, height: int = 900, timeout_s: float = 30.0):
        self.executable = executable
        self.width, self.height = width, height
        self.timeout_s = timeout_s
        self._ids = itertools.count(1)
        self._proc: subprocess.Popen | None = None
        self._ws = None
        self._profile: str | None = None
        self.session: str | None = None

    # ---- lifecycle ----------------------------------------------------------------------------
    def __enter__(self) -> Browser:
        from websockets.sync.client import connect

        if not Path(self.executable).exists():
            raise UiError(f"{self.executable} not found: apt-get install chromium")
        self._profile = tempfile.mkdtemp(prefix="radiostars-chromium-")
        log = open(Path(self._profile) / "chromium.log", "wb")
        self._proc = subprocess.Popen(
            [
                self.executable,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={self._profile}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                f"--window-size={self.width},{self.height}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        try:
            port_file = Path(self._profile) / "DevToolsActivePort"
            deadline = time.monotonic() + self.timeout_s
            while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    tail = (Path(self._profile) / "chromium.log").read_text(errors="replace")[-1500:]
                    raise UiError(f"chromium did not start (exit {self._proc.poll()}):\n{tail}")
                time.sleep(0.1)
            port, path = port_file.read_text().splitlines()[:2]
            # entered as a context manager (websockets >= 17.1 warns otherwise); closed in __exit__
            self._ws = connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=self.timeout_s).__enter__()
            target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
            self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)[
                "sessionId"
            ]
            self.send("Page.enable")
            self.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
            )
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self._ws is not None:
            try:
                self.send("Browser.close", session=False, timeout_s=5)
            except Exception:
                pass
            self._ws.close()
            self._ws = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:  # the browser's own process group (renderers, zygote), started by us above
                    os.killpg(self._proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self._proc.wait(timeout=5)
            self._proc = None
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    # ---- protocol -----------------------------------------------------------------------------
    def send(
        self, method: str, params: dict | None = None, session: bool = True, timeout_s: float | None = None
    ) -> dict:
        msg_id = next(self._ids)
        msg: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        self._ws.send(json.dumps(msg))
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while True:  # skip events and other replies until ours comes
            left = deadline - time.monotonic()
            if left <= 0:
                raise UiError(f"CDP {method}: no reply within {timeout_s or self.timeout_s:.0f} s")
            reply = json.loads(self._ws.recv(timeout=left))
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise UiError(f"CDP {method}: {reply['error'].get('message')}")
                return reply.get("result", {})

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise UiError(f"JS error in {expression[:80]!r}: {result['exceptionDetails'].get('text')}")
        return result.get("result", {}).get("value")

    # ---- page helpers -------------------------------------------------------------------------
    def goto(self, url: str) -> None:
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise UiError(f"cannot open {url}: {result['errorText']}")

    def url(self) -> str:
        return self.evaluate("location.href")

    def text(self) -> str:
        return self.evaluate("document.body ? document.body.innerText : ''") or ""

    def wait_for(self, js_condition: str, what: str, timeout_s: float | None = None) -> None:
        """Poll until the JS expression is truthy (the SPA renders after its API calls return)."""
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while time.monotonic() < deadline:
            try:
                if self.evaluate(js_condition):
                    return
            except UiError:  # page mid-navigation: context gone, try again
                pass
            time.sleep(0.25)
        raise UiError(f"timed out waiting for {what} at {self.url()}; page text: {self.text()[:300]!r}")

    def wait_for_text(self, needles: list[str] | tuple[str, ...], timeout_s: float | None = None) -> None:
        cond = " && ".join(f"document.body.innerText.includes({json.dumps(n)})" for n in needles)
        self.wait_for(f"!!document.body && {cond}", f"text {list(needles)}", timeout_s)

    def wait_for_quiet(self, seconds: float = 1.0, timeout_s: float = 5.0) -> None:
        """Let late requests settle: wait until the DOM stops changing for `seconds` (best effort: pages
        with running tasks refresh themselves, so give up quietly after timeout_s)."""
        deadline = time.monotonic() + timeout_s
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            size = self.evaluate("document.body ? document.body.innerHTML.length : 0")
            if size != last:
                last, since = size, time.monotonic()
            elif time.monotonic() - since >= seconds:
                return
            time.sleep(0.2)

    def type_into(self, selector: str, value: str) -> None:
        """Focus the element and insert text the way a keyboard would (React sees the input events)."""
        found = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            f" if (!e) return false; e.focus(); e.select && e.select(); return true; }})()"
        )
        if not found:
            raise UiError(f"no element {selector!r} at {self.url()}")
        self.send("Input.insertText", {"text": value})

    def click_if_present(self, selector: str) -> bool:
        return bool(
            self.evaluate(
                f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                f" if (!e || e.disabled) return false; e.click(); return true; }})()"
            )
        )

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path


# ---- Airflow specifics ------------------------------------------------------------------------
LOGIN_FORM_JS = (
    "!!document.querySelector('form') && !!document.querySelector('input[name=username]')"
    " && !!document.querySelector('input[type=password]')"
)


def open_login_page(browser: Browser, base_url: str, next_path: str = "/dags") -> None:
    browser.goto(f"{base_url}/auth/login?{urllib.parse.urlencode({'next': base_url + next_path})}")
    browser.wait_for(LOGIN_FORM_JS, "the login form")


def login(browser: Browser, settings: Settings, next_path: str = "/dags") -> None:
    """Log in through the SimpleAuthManager form, as a person would; ends on next_path."""
    base = settings.airflow_url
    open_login_page(browser, base, next_path)
    browser.type_into("input[name=username]", settings["AIRFLOW_ADMIN_USER"])
    browser.type_into("input[type=password]", settings["AIRFLOW_ADMIN_PASSWORD"])
    # the Sign-in button is disabled until both fields are filled (React state from the input events)
    browser.wait_for("!!document.querySelector('form button[type=submit]:not([disabled])')", "the Sign-in button")
    browser.evaluate("document.querySelector('form button[type=submit]').click()")
    browser.wait_for(
        "!location.pathname.startsWith('/auth/') || /invalid|incorrect|unauthori[sz]ed/i.test(document.body.innerText)",
        "the login to finish",
    )
    if urllib.parse.urlparse(browser.url()).path.startswith("/auth/"):
        raise UiError(f"login as {settings['AIRFLOW_ADMIN_USER']!r} failed: {browser.text()[:300]!r}")


def open_dag_list(browser: Browser, base_url: str, dag_ids=DAG_IDS) -> None:
    if urllib.parse.urlparse(browser.url()).path.rstrip("/") != "/dags":
        browser.goto(f"{base_url}/dags")
    browser.wait_for_text(list(dag_ids))
    browser.wait_for_quiet()


def newest_finished_run(settings: Settings, dag_ids=DAG_IDS) -> tuple[str, dict | None]:
    """(dag_id, run) of the newest finished run, a successful one preferred; (dag_ids[0], None) if none."""
    from radiostars.airflow_client import AirflowClient

    client = AirflowClient(settings)
    finished = [
        (dag_id, run)
        for dag_id in dag_ids
        for run in client.dag_runs(dag_id, limit=50)
        if run.get("state") in FINISHED and run.get("end_date")
    ]
    if not finished:
        return dag_ids[0], None
    pool = [f for f in finished if f[1]["state"] == "success"] or finished
    return max(pool, key=lambda f: f[1]["end_date"])


def open_grid(browser: Browser, base_url: str, dag_id: str, run: dict | None) -> None:
    if run is None:
        browser.goto(f"{base_url}/dags/{dag_id}")
        browser.wait_for_text([dag_id])
    else:
        run_id = run["dag_run_id"]
        browser.goto(f"{base_url}/dags/{dag_id}/runs/{urllib.parse.quote(run_id, safe='')}")
        browser.wait_for_text([dag_id, run_id])
    # grid (not graph) view; its rows (links to tasks and task groups) render once its API calls return
    browser.click_if_present("button[aria-label^='Show Grid']")
    rows = f'document.querySelectorAll(\'a[href*="/dags/{dag_id}/"][href*="/tasks/"]\').length'
    browser.wait_for(f"{rows} > 0", "the grid's rows")
    # open every task group so the rows show each task's state
    # (a click before the grid has its data can be lost: retry until rows appear; no groups, no rows)
    browser.wait_for_quiet(1.0)
    before = browser.evaluate(rows)
    for _ in range(5):
        if not browser.click_if_present("button[aria-label='Expand all task groups']"):
            break
        try:
            browser.wait_for(f"{rows} > {before}", "the expanded task groups", timeout_s=3)
            break
        except UiError:
            continue
    browser.wait_for_quiet(1.5)


def capture(settings: Settings, out_dir: Path | str, dag_id: str | None = None) -> list[Path]:
    """Screenshot the DAG list and the grid of the newest finished run (of dag_id, or of any of the
    three DAGs); returns the PNG paths (airflow-dags.png, airflow-grid.png)."""
    out = Path(out_dir)
    base = settings.airflow_url
    grid_dag, run = newest_finished_run(settings, (dag_id,) if dag_id else DAG_IDS)
    with Browser() as browser:
        login(browser, settings, "/dags")
        open_dag_list(browser, base)
        dags_png = browser.screenshot(out / "airflow-dags.png")
        open_grid(browser, base, grid_dag, run)
        grid_png = browser.screenshot(out / "airflow-grid.png")
    return [dags_png, grid_png]


def main(argv: list[str] | None = None) -> int:
    from radiostars.config import get_settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="docs/img", help="folder for the PNGs (default docs/img)")
    parser.add_argument("--dag-id", default=None, help="DAG whose newest finished run to show")
    args = parser.parse_args(argv)
    try:
        paths = capture(get_settings(), args.out, args.dag_id)
    except UiError as exc:
        print(f"ui_screenshots: {exc}", file=sys.stderr)
        return 1
    for p in paths:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
