"""README's experiment-config reference, generated from the spec (workers.contract.spec).

    .venv/bin/python scripts/config_reference.py          # rewrite the tables in README.md
    .venv/bin/python scripts/config_reference.py --check  # exit 1 when README.md is out of date

The tables sit between `<!-- config-reference:NAME -->` and `<!-- /config-reference:NAME -->`;
the prose around them is README's own. tests/scripts/test_config_reference.py runs --check.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workers.contract import spec  # noqa: E402
from workers.contract.spec.types import applicability, bounds  # noqa: E402

README = ROOT / "README.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _default(setting: spec.Setting) -> str:
    value = setting.default
    if setting.kind == "dataset":
        return "required"
    if value is None:
        return "none (off)" if setting.kind in ("object", "variant") else "none"
    if isinstance(value, spec.Derived):
        return spec.describe(value)
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _meaning(setting: spec.Setting) -> str:
    parts = [setting.help]
    if applicability(setting):
        parts.append(applicability(setting))
    text = "; ".join(parts)
    if setting.evidence:
        text += f". Default: {setting.evidence}"
    return text


def _row(setting: spec.Setting) -> str:
    cells = (f"`{setting.key}`", _default(setting), bounds(setting), _meaning(setting))
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def settings_table() -> str:
    rows = ["| key | default | allowed | meaning |", "|---|---|---|---|"]
    for setting in spec.SETTINGS:
        rows.append(_row(setting))
        if setting.key != "lr_schedule":  # its parameters: the schedules' table
            rows += [_row(inner) for inner in spec.settings_of(setting)]
    return "\n".join(rows)


def _param(p: spec.Setting) -> str:
    allowed = f", {bounds(p)}" if bounds(p) else ""
    return f"`{p.name}` ({spec.describe(p.default)}{allowed})"


def schedules_table() -> str:
    rows = ["| `type` | parameters (defaults, allowed) | the rate |", "|---|---|---|"]
    for schedule in spec.LR_SCHEDULES.values():
        params = ", ".join(_param(p) for p in schedule.params) or "—"
        rows.append(
            "| "
            + " | ".join(_cell(c) for c in (f"`{schedule.name}`", params, schedule.rate))
            + " |"
        )
    return "\n".join(rows)


TABLES = {"settings": settings_table, "schedules": schedules_table}


def render(readme: str) -> str:
    """README with each marked table replaced by the spec's."""
    for name, table in TABLES.items():
        pattern = re.compile(
            rf"(<!-- config-reference:{name} -->\n).*?(\n<!-- /config-reference:{name} -->)", re.S
        )
        if not pattern.search(readme):
            raise SystemExit(f"README.md has no <!-- config-reference:{name} --> markers.")
        text = table()
        readme = pattern.sub(lambda m, text=text: m.group(1) + text + m.group(2), readme)
    return readme


def main(argv: list[str]) -> int:
    current = README.read_text(encoding="utf-8")
    wanted = render(current)
    if "--check" in argv:
        if current != wanted:
            print("README.md's config reference is out of date: run scripts/config_reference.py")
            return 1
        return 0
    README.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
