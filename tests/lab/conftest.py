from tests.runs.conftest import grace  # noqa: F401
