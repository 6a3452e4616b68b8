"""End-to-end fixtures: a live server, a real Celery worker, and an HTTP client of the API."""

from __future__ import annotations

import csv
import io
import os
import time
from urllib.parse import urlparse

import pytest
import requests

PASSWORD = "correct-horse-battery-1"


class Api:
    """A token-authenticated HTTP client of the live server, as a user's program would be."""

    def __init__(self, base_url: str, username: str, password: str):
        self.base = f"{base_url}/api/v1"
        response = requests.post(
            f"{self.base}/auth/token/", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {response.json()['token']}"

    def get(self, path, **params):
        return self.session.get(f"{self.base}{path}", params=params, timeout=10)

    def post(self, path, **kwargs):
        return self.session.post(f"{self.base}{path}", timeout=30, **kwargs)

    def upload(self, rows, name="data.csv", **fields):
        text = io.StringIO()
        csv.writer(text).writerows(rows)
        files = {"file": (name, text.getvalue().encode(), "text/csv")}
        response = self.post("/datasets/", files=files, data=fields)
        assert response.status_code == 201, response.text
        return response.json()

    def experiment(self, **config):
        response = self.post("/experiments/", json=config)
        assert response.status_code == 201, response.text
        return response.json()

    def wait_for(self, run_id, predicate, timeout=90.0, interval=0.2):
        deadline = time.monotonic() + timeout
        while True:
            run = self.get(f"/runs/{run_id}/").json()
            if predicate(run):
                return run
            assert time.monotonic() < deadline, f"run {run_id} never got there; last seen: {run}"
            time.sleep(interval)


def finished(run: dict) -> bool:
    return run["status"] in ("succeeded", "failed", "cancelled")


@pytest.fixture
def client_api(celery_worker_process, live_server, django_user_model):
    # The worker fixture sets the test database up first, so it is torn down after the
    # live server has closed its connections.
    django_user_model.objects.create_user("ada", password=PASSWORD)
    return Api(live_server.url, "ada", PASSWORD)


CHROMIUM = os.environ.get("DOWNHILL_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def browser_page(live_server):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # meanwhile are still plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    problems: list[str] = []
    local_host = urlparse(live_server.url).hostname
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.on(
            "console",
            lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

        def only_this_machine(route):
            host = urlparse(route.request.url).hostname
            if host in (local_host, "localhost", "127.0.0.1"):
                route.continue_()
            else:
                problems.append(f"request leaving the machine: {route.request.url}")
                route.abort()

        page.route("**/*", only_this_machine)
        yield page, problems
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
