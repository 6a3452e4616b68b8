"""The typed experiment spec: every setting of an experiment config once, with its type,
default, bounds or choices, help text, the evidence for its default, its form section and
label, and where it applies (momentum only for the optimizers that take it).

The web derives from it the config's validation (downhill.experiments.config), the API's
request schema, the experiment form and the run page's labels; README's settings table is
generated from it (scripts/config_reference.py). A new optimizer or lr schedule is one
`register(...)` here plus its behaviour in the engine.

Why dataclasses, not pydantic: the spec is data that several surfaces read (a form, an
OpenAPI schema, a table), not a parser; the validation must keep today's messages word for
word, and those name bounds that follow other settings (`min_lr` at most the learning rate,
`every_epochs` at most the epochs), which pydantic would need custom validators and message
rewriting for anyway. Frozen dataclasses cost no dependency on the web or the worker (pydantic
is not installed), and this package must stay importable without Django or torch.
"""

from .lr_schedules import CYCLIC_MODES, LR_SCHEDULES, MAX_LR, lr_schedule_params
from .optimizers import DEFAULT_OPTIMIZER, OPTIMIZERS
from .settings import (
    CONFIG_KEYS,
    SECTIONS,
    SETTINGS,
    all_settings,
    settings_of,
)
from .types import (
    Derived,
    Form,
    LRSchedule,
    Optimizer,
    Setting,
    applies,
    describe,
    live,
    resolve,
    summary,
)

__all__ = [
    "CONFIG_KEYS", "CYCLIC_MODES", "DEFAULT_OPTIMIZER", "LR_SCHEDULES", "MAX_LR", "OPTIMIZERS",
    "SECTIONS", "SETTINGS", "Derived", "Form", "LRSchedule", "Optimizer", "Setting",
    "all_settings", "applies", "describe", "live", "lr_schedule_params", "resolve", "settings_of", "summary",
]  # fmt: skip
