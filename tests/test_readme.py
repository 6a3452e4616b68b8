"""README checks for what a new user tripped over: it points only inside the repository, and
its Python snippets run in the project's virtualenv (a system python3 has no scikit-learn)."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_readme_links_only_inside_the_repository():
    links = re.findall(r"\]\(([^)]+)\)|`(\.\./[^`]+)`", README)
    outside = [target for pair in links for target in pair if target.startswith("../")]
    assert not outside
    assert "../shared" not in README


def test_readme_python_snippets_use_the_virtualenv():
    assert not re.search(r"(^|[|;]\s*)python3 ", README, flags=re.MULTILINE)
    assert ".venv/bin/python - <<'EOF'" in README


def test_readme_does_not_call_images_unuploadable():
    assert "not yet uploadable" not in README.lower()
