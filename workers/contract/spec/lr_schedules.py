"""The learning-rate schedules a config may name, with their parameters. Registering one here
puts it in the validation, the API schema, the form and the run page; its rate per step is
`workers.contract.schedules`."""

from __future__ import annotations

from .types import Derived, Form, LRSchedule, Registry, Setting

MAX_LR = 1e6
CYCLIC_MODES = ("triangular", "triangular2")

LR = Derived("the learning rate", lambda c: c["learning_rate"])
EPOCHS = Derived("the epochs", lambda c: c["epochs"])


def param(name: str, kind: str, label: str, help: str, **options) -> Setting:
    """A schedule's parameter: a setting inside `lr_schedule`."""
    return Setting(f"lr_schedule.{name}", kind, label, help, **options)


def every_epochs() -> Setting:
    return param("every_epochs", "integer", "Decay every (epochs)", "epochs between decays",
                 default=10, minimum=1, maximum=EPOCHS, evidence="PyTorch's StepLR example")  # fmt: skip


def gamma(default: float) -> Setting:
    return param("gamma", "number", "Gamma", "factor per decay", default=default, minimum=0,
                 exclusive_min=True, maximum=1, evidence="PyTorch's example values")  # fmt: skip


def min_lr(default, maximum, *, exclusive_max: bool = False) -> Setting:
    return param("min_lr", "number", "Min lr", "the lowest rate", default=default, minimum=0,
                 maximum=maximum, exclusive_max=exclusive_max)  # fmt: skip


def max_lr() -> Setting:
    return param("max_lr", "number", "Max lr", "the highest rate", default=LR, minimum=0,
                 exclusive_min=True, maximum=MAX_LR)  # fmt: skip


WARMUP_EPOCHS = param(
    "warmup_epochs", "number", "Warmup (epochs)",
    "the rate ramps up linearly over these epochs (every schedule takes it)",
    default=0, minimum=0, maximum=EPOCHS, form=Form(short="warmup", placeholder="0"),
)  # fmt: skip


def _cyclic_check(schedule, config) -> str | None:
    if schedule["min_lr"] >= schedule["max_lr"]:
        return f"min_lr ({schedule['min_lr']:g}) must be below max_lr ({schedule['max_lr']:g})."
    return None


def _plateau_check(schedule, config) -> str | None:
    if not config["validation_split"] > 0:
        return "plateau watches the validation loss: set validation_split above 0."
    return None


LR_SCHEDULES: Registry = Registry()

for _schedule in (
    LRSchedule("constant", "constant", "constant", rate="η"),
    LRSchedule("step", "step decay", "step", (every_epochs(), gamma(0.1)), rate="η · g^⌊(e−1)/every_epochs⌋ (g = gamma)"),
    LRSchedule("exponential", "exponential decay", "exponential", (gamma(0.95),), rate="η · gamma^(e−1)"),
    LRSchedule("cosine", "cosine", "cosine", (min_lr(0.0, LR),), rate="m + (η − m) · (1 + cos(π (s−1)/S)) / 2 (m = min_lr)"),
    LRSchedule("warm_restarts", "cosine with warm restarts", "warm restarts", (
        param("first_cycle_epochs", "number", "First cycle (epochs)", "epochs of the first cycle",
              default=10, minimum=0, exclusive_min=True, maximum=EPOCHS, evidence="SGDR (Loshchilov & Hutter)"),
        param("cycle_mult", "number", "Cycle growth", "each cycle is this many times longer",
              default=2.0, minimum=1, maximum=10, evidence="SGDR (Loshchilov & Hutter)"),
        min_lr(0.0, LR),
    ), rate="SGDR: cycle i lasts first_cycle_epochs · cycle_mult^i epochs; m + (η − m)(1 + cos(π t_cur / T_i)) / 2, "
       "a `restart` event at each new cycle"),
    LRSchedule("cyclic", "cyclic (CLR)", "cyclic", (
        param("mode", "choice", "Mode", "triangular2 halves the amplitude each cycle",
              default="triangular", choices=CYCLIC_MODES),
        min_lr(Derived("the learning rate / 10", lambda c: c["learning_rate"] / 10), MAX_LR),
        max_lr(),
        param("half_cycle_epochs", "number", "Half cycle (epochs)", "epochs from the lowest rate to the highest",
              default=2.0, minimum=0, exclusive_min=True, maximum=EPOCHS, evidence="Smith (CLR): 2-10 epochs"),
    ), _cyclic_check, rate="Smith's CLR with a = min_lr, b = max_lr, h = half_cycle_epochs: c = ⌊1 + t/(2h)⌋, "
       "x = |t/h − 2c + 1|, a + (b − a)·max(0, 1 − x) (triangular2 halves the amplitude each cycle)"),
    LRSchedule("one_cycle", "one cycle", "one cycle", (max_lr(),),
               rate="PyTorch's OneCycleLR over S steps: from max_lr/25 up to max_lr over 30 % of the run, "
               "then cosine down to max_lr/25/10⁴"),
    LRSchedule("plateau", "reduce on plateau", "plateau", (
        param("factor", "number", "Factor", "multiplies the rate at each decay", default=0.1,
              minimum=0, exclusive_min=True, maximum=1, exclusive_max=True, evidence="PyTorch's ReduceLROnPlateau"),
        param("patience_epochs", "integer", "Patience (epochs)", "epochs without improvement before a decay",
              default=5, minimum=0, maximum=EPOCHS),
        min_lr(Derived("the learning rate / 1000", lambda c: c["learning_rate"] * 1e-3), LR, exclusive_max=True),
    ), _plateau_check, rate="starts at η; after more than patience_epochs epochs without the validation loss "
       "improving by 0.01 %, multiply by factor (a `decay` event); once the next rate would fall below min_lr, "
       "the run stops (`stop_reason: lr_below_min`)"),
):  # fmt: skip
    LR_SCHEDULES.register(_schedule)


def schedule_names() -> tuple[str, ...]:
    return tuple(LR_SCHEDULES)


def lr_schedule_params(kind: str) -> tuple[Setting, ...]:
    """The settings a schedule of this type reads, in order, warmup last."""
    return (*LR_SCHEDULES[kind].params, WARMUP_EPOCHS)
