from tests.experiments.conftest import iris, sent_tasks  # noqa: F401
from tests.runs.conftest import experiment, grace, run  # noqa: F401
