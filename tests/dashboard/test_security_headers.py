"""Every page sends a Content-Security-Policy with no inline script or style (and has none to
need it), the frame, content-type and referrer headers, and signed-in answers are never
stored by a cache."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from tests.dashboard.builders import PASSWORD, make_run

pytestmark = pytest.mark.django_db

INLINE = [
    re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I),
    re.compile(r"<style\b", re.I),
    re.compile(r"\sstyle\s*=", re.I),
    re.compile(r"\son[a-z]+\s*=", re.I),
    re.compile(r"javascript:", re.I),
]


def assert_safe_headers(response, *, private: bool = False):
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp, csp
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    if private:
        cache_control = response.get("Cache-Control", "")
        assert "no-store" in cache_control and "private" in cache_control, cache_control


def assert_no_inline_code(html: str, url: str):
    for pattern in INLINE:
        assert not pattern.search(html), (url, pattern.pattern, pattern.search(html))


def test_pages_for_everyone_send_the_headers_and_hold_no_inline_code(client):
    for url in ("/login/", "/signup/", "/admin/login/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_safe_headers(response)
        if url != "/admin/login/":  # Django's admin templates are Django's
            assert_no_inline_code(response.content.decode(), url)


def test_signed_in_pages_send_the_headers_hold_no_inline_code_and_are_not_stored(client, user):
    run, other = make_run(user), make_run(user, dataset_name="wine")
    dataset = run.experiment.dataset
    client.post("/login/", {"username": "ada", "password": PASSWORD})
    for url in (
        "/",
        f"/runs/{run.id}/",
        f"/runs/compare/?ids={run.id},{other.id}",
        "/datasets/",
        f"/datasets/{dataset.id}/",
        "/experiments/new/",
        "/api/docs/",
        "/api/v1/runs/",
    ):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert_safe_headers(response, private=True)
        assert_no_inline_code(response.content.decode(), url)


def test_an_answer_carrying_a_new_token_is_not_stored(user):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "ada", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    assert_safe_headers(response, private=True)
