"""Settings, split by concern. Every value comes from the environment with a safe local default."""
# ruff: noqa: I001  (order matters: base first)

from .base import *  # noqa: F403
from .database import *  # noqa: F403
from .cache import *  # noqa: F403
from .celery import *  # noqa: F403
from .storage import *  # noqa: F403
from .datasets import *  # noqa: F403
from .logging import *  # noqa: F403
from .api import *  # noqa: F403
from .security import *  # noqa: F403
