"""`make run`'s ready line: printed once the web server answers its health check and every
training worker is warm (each creates its marker file in the folder given once it has loaded
torch and trained its tiny table: workers/warm.py), so that a run created then shows its first
loss point at once (bench/dispatch).

    python scripts/wait_ready.py URL MARKER_DIR WORKERS [TIMEOUT_SECONDS]

Exit status 0 once ready, 1 after TIMEOUT_SECONDS (300) with a line saying what is missing.
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

POLL_SECONDS = 0.1


def web_answers(health_url: str) -> bool:
    try:
        with urllib.request.urlopen(health_url, timeout=5) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def warm_workers(marker_dir: Path) -> int:
    return sum(1 for _ in marker_dir.iterdir()) if marker_dir.is_dir() else 0


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    health_url, marker_dir, workers = argv[0], Path(argv[1]), int(argv[2])
    timeout = float(argv[3]) if len(argv) == 4 else 300.0
    base = health_url.split("/api/", 1)[0]
    deadline = time.monotonic() + timeout
    answers = warm = False
    while time.monotonic() < deadline:
        answers = answers or web_answers(health_url)
        warm = warm_workers(marker_dir) >= workers
        if answers and warm:
            print(f"Downhill is ready on {base}/: the web answers, {workers} training "
                  f"worker(s) warm", flush=True)  # fmt: skip
            return 0
        time.sleep(POLL_SECONDS)
    missing = [] if answers else ["the web server does not answer its health check"]
    if not warm:
        missing.append(f"{workers - warm_workers(marker_dir)} training worker(s) not warm yet")
    print(f"Downhill is not ready after {timeout:g} s: {'; '.join(missing)}", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
