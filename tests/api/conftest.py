from tests.datasets.conftest import media_root  # noqa: F401  (autouse: uploads go to tmp_path)
from tests.experiments.conftest import iris, sent_tasks  # noqa: F401
from tests.runs.conftest import experiment, grace, run  # noqa: F401
