"""`make run`'s ready line (scripts/wait_ready.py): printed only once the web answers its
health check and every training worker has created its warm marker."""

from __future__ import annotations

import http.server
import threading

import pytest

from scripts.wait_ready import main


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/api/v1/health/" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def health_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v1/health/"
    server.shutdown()


def test_ready_once_the_web_answers_and_every_worker_is_warm(health_url, tmp_path, capsys):
    (tmp_path / "worker1").touch()
    (tmp_path / "worker2").touch()
    assert main([health_url, str(tmp_path), "2", "5"]) == 0
    assert "Downhill is ready on http://127.0.0.1:" in capsys.readouterr().out


def test_not_ready_while_a_training_worker_is_cold(health_url, tmp_path, capsys):
    (tmp_path / "worker1").touch()
    assert main([health_url, str(tmp_path), "2", "0.5"]) == 1
    out = capsys.readouterr().out
    assert "Downhill is not ready after 0.5 s: 1 training worker(s) not warm yet" in out
    assert "ready on" not in out


def test_not_ready_while_the_web_does_not_answer(health_url, tmp_path, capsys):
    (tmp_path / "worker1").touch()
    wrong = health_url.replace("/api/v1/health/", "/api/v1/nothing/")
    assert main([wrong, str(tmp_path), "1", "0.5"]) == 1
    assert "the web server does not answer its health check" in capsys.readouterr().out
