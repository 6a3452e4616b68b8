from tests.experiments.conftest import iris  # noqa: F401
from tests.runs.conftest import experiment, grace, run  # noqa: F401
