"""Under the Content-Security-Policy, the pages that are not ours to write (the API docs'
Swagger UI, Django's admin) still run in a real browser without one refusal: any blocked
script or style is a console error, which fails the test (tests/e2e/conftest.py). The
dashboard's own pages are walked the same way by test_browser and test_browser_workflow."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_api_docs_and_admin_run_under_the_policy(live_server, browser_page, django_user_model):
    page, problems = browser_page
    django_user_model.objects.create_superuser("ada", password=PASSWORD)

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}/admin/auth/user/")
    page.wait_for_load_state("networkidle")

    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)  # rendered by its script
    page.wait_for_load_state("networkidle")

    assert problems == []
