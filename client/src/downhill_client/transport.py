"""The HTTP layer: one httpx client, the API's errors as ApiError, reads retried with backoff."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import httpx

from .errors import ApiError, ServerUnreachable

# Reads retry through about 30 s of a server restarting, then give up.
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)
RETRY_STATUSES = {502, 503, 504}


def api_base(url: str) -> str:
    """The API root from a server URL, given with or without /api/v1."""
    url = url.rstrip("/")
    return url if url.endswith("/api/v1") else f"{url}/api/v1"


class Transport:
    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        timeout: float = 30.0,
        retry_delays: Iterable[float] = RETRY_DELAYS,
        on_retry: Callable[[str], None] | None = None,
    ):
        self.url = url
        headers = {"Authorization": f"Token {token}"} if token else {}
        self.http = httpx.Client(base_url=api_base(url), headers=headers, timeout=timeout)
        self.retry_delays = tuple(retry_delays)
        self.on_retry = on_retry or (lambda message: None)

    def get(self, path: str, **params) -> dict:
        return self.request("GET", path, params=params)

    def all_pages(self, path: str, **params) -> list[dict]:
        """Every item of a listing, following `next` across pages."""
        page = self.get(path, **params)
        items = list(page["results"])
        while page.get("next"):
            page = self.get(page["next"])
            items.extend(page["results"])
        return items

    def download(self, path: str, destination) -> str:
        """Stream the file at `path` into `destination` (a path), chunk by chunk; returns the
        server's file name. An error answer raises ApiError and writes nothing."""
        try:
            with self.http.stream("GET", path) as response:
                if response.status_code >= 400:
                    response.read()
                    self._checked(response)
                with open(destination, "wb") as out:
                    for chunk in response.iter_bytes(1 << 20):
                        out.write(chunk)
                disposition = response.headers.get("content-disposition", "")
        except httpx.TransportError as exc:
            raise ServerUnreachable(self._unreachable("GET", exc)) from None
        return disposition.partition('filename="')[2].rstrip('"')

    def post(self, path: str, **kwargs) -> dict:
        return self.request("POST", path, **kwargs)

    def request(self, method: str, path: str, **kwargs) -> dict:
        """The answer's JSON. Only GETs are retried: a POST that may have reached the server
        is never sent twice."""
        delays = self.retry_delays if method == "GET" else ()
        for delay in (*delays, None):
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if delay is None:
                    raise ServerUnreachable(self._unreachable(method, exc)) from None
                self.on_retry(f"{self.url} does not answer ({exc}); retrying in {delay:g} s")
            else:
                if delay is None or response.status_code not in RETRY_STATUSES:
                    return self._checked(response)
                self.on_retry(
                    f"{self.url} answered {response.status_code}; retrying in {delay:g} s"
                )
            time.sleep(delay)
        raise AssertionError("unreachable")

    def _unreachable(self, method: str, exc: Exception) -> str:
        message = f"cannot reach the server at {self.url}: {exc or type(exc).__name__}"
        if method == "POST":
            message += " (the server keeps nothing of a request that did not arrive whole)"
        return message

    @staticmethod
    def _checked(response: httpx.Response) -> dict:
        if response.status_code < 400:
            return response.json() if response.content else {}
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        message = str(body.get("detail") or f"{response.status_code} {response.reason_phrase}")
        raise ApiError(response.status_code, message, body.get("errors"))

    def close(self) -> None:
        self.http.close()
