"""A wide table's page in a real browser: its schema a page of columns at a time, Next and
Previous between them, no horizontal overflow of the page at 1440 px or 390 px."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import PASSWORD
from tests.e2e.test_browser import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_wide_datasets_columns_page_through(client_api, live_server, browser_page):
    page, problems = browser_page
    header = [f"feature_{i}" for i in range(119)] + ["label"]
    rows = [header] + [[(r * 7 + i) % 13 for i in range(119)] + [r % 2] for r in range(40)]
    dataset = client_api.upload(rows, name="wide.csv")

    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/datasets/{dataset['id']}/")
    assert page.locator(".schema-table tbody tr").count() == 50
    assert page.get_by_text("Columns 1–50 of 120").is_visible()
    screenshot(page, "wide-dataset-1440")

    page.click("text=Next →")
    page.wait_for_url("**/?columns=2*")
    assert page.locator(".schema-table tbody th", has_text="feature_50").count() == 1
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{overflow}px wider than the window at {width}px"
    screenshot(page, "wide-dataset-390")
    assert problems == []
