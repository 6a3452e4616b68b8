"""Learning-rate schedules: the lr of every optimizer update, from the run's `lr_schedule`.

Plain Python (no torch): the engine drives its optimizer with it, and the web process plots
a schedule's preview with the very same code.

Terms used throughout (they are the public contract of the `lr` metric):
- `step` counts optimizer updates from 1 over the whole run; S is the run's total steps.
- `epoch` is 1-based; `step_in_epoch` is 0-based.
- t, the fractional epochs elapsed before a step, is (epoch - 1) + step_in_epoch / n_epoch,
  with n_epoch the steps of that epoch. Epochs may differ in steps (a batch-size schedule
  grows the batch), so a schedule receives the whole plan: `epoch_steps[i]` = steps of epoch i+1.

`lr()` runs once per training step, so it does plain float arithmetic on values prepared in
`__init__`. Any schedule may carry `warmup_epochs`, which scales its lr by min(1, step / W).
"""

from __future__ import annotations

import math
from bisect import bisect_right

from workers.contract.choices import CYCLIC_MODES

PLATEAU_REL_THRESHOLD = 1e-4  # ReduceLROnPlateau's default; not tuned on our data
PLATEAU_STOP_REASON = "learning rate fell below min_lr"


def warmup_step_count(warmup_epochs: float, epoch_steps: list[int]) -> int:
    """W, the steps in the first `warmup_epochs` epochs rounded up (at least 1); 0 = no warmup.

    Epochs past the end of the plan count as long as its last epoch.
    """
    if warmup_epochs <= 0:
        return 0
    whole = int(warmup_epochs)
    counts = list(epoch_steps) + [epoch_steps[-1]] * max(0, whole + 1 - len(epoch_steps))
    steps = sum(counts[:whole]) + (warmup_epochs - whole) * counts[whole]
    # round() first: 0.07 epochs of 100 steps are 7.000000000000001 in floats, and mean 7
    return max(1, math.ceil(round(steps, 9)))


class LrSchedule:
    """Base; one instance per run. Subclasses compute `_lr`; warmup and events live here.

    Linear warmup (Goyal et al. 2017, "Accurate, Large Minibatch SGD", arXiv:1706.02677):
    lr(s) = schedule_lr(s) * min(1, s / W).
    """

    def __init__(self, spec: dict, base_lr: float, epoch_steps: list[int]):
        self.spec = spec
        self.base_lr = float(base_lr)
        self.epoch_steps = list(epoch_steps)
        self.total_steps = sum(self.epoch_steps)
        # first_step[i]: global step of epoch i+1's first update; one extra entry for "after".
        self.first_step = [1]
        for n in self.epoch_steps:
            self.first_step.append(self.first_step[-1] + n)
        self.stop_reason: str | None = None
        # Warmup is off unless asked: nothing measured here says small tabular models need it.
        self.warmup_steps = warmup_step_count(spec.get("warmup_epochs", 0), self.epoch_steps)
        self._pending_events: list[dict] = []
        # Events known in advance, by the step that emits them; `lr` is filled in when reached.
        self._events_at: dict[int, list[dict]] = {}
        if self.warmup_steps:
            self._add_event(self.warmup_steps, "warmup_end")

    def lr(self, step: int, epoch: int, step_in_epoch: int) -> float:
        """The lr for the update at global `step` (1-based) of `epoch` (1-based)."""
        lr = self._with_warmup(self._lr(step, epoch, step_in_epoch), step)
        events = self._events_at.get(step)
        if events:
            self._pending_events.extend({**event, "lr": lr} for event in events)
        return lr

    def end_epoch(self, epoch: int, val_loss: float | None) -> None:
        """After `epoch`'s validation; only schedules that react to the loss use it."""

    def drain_events(self) -> list[dict]:
        """Events ({"type", "step", "epoch", "lr", ...}) since the last call, oldest first."""
        events, self._pending_events = self._pending_events, []
        return events

    def state_dict(self) -> dict:
        """What a checkpoint needs to resume this schedule; stateless schedules need nothing."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict` returned."""

    def _lr(self, step: int, epoch: int, step_in_epoch: int) -> float:
        raise NotImplementedError

    def _fractional_epoch(self, epoch: int, step_in_epoch: int) -> float:
        return (epoch - 1) + step_in_epoch / self.epoch_steps[epoch - 1]

    def position(self, step: int) -> tuple[int, int]:
        """(epoch, step_in_epoch) of a global step."""
        epoch = bisect_right(self.first_step, step)
        return epoch, step - self.first_step[epoch - 1]

    def _with_warmup(self, lr: float, step: int) -> float:
        return lr * step / self.warmup_steps if step < self.warmup_steps else lr

    def _add_event(self, step: int, event_type: str, **extra) -> None:
        epoch, _ = self.position(step)
        event = {"type": event_type, "step": step, "epoch": epoch, **extra}
        self._events_at.setdefault(step, []).append(event)


class ConstantSchedule(LrSchedule):
    """lr = base. The default; source: plain SGD as in every textbook."""

    def _lr(self, step, epoch, step_in_epoch):
        return self.base_lr


class StepSchedule(LrSchedule):
    """Per epoch: lr = base * gamma^floor((epoch - 1) / every_epochs).

    Source: step decay as in torch.optim.lr_scheduler.StepLR (stepped once per epoch), used
    e.g. by He et al. 2016 (ResNet, lr divided by 10 at fixed epochs).
    """

    def __init__(self, spec, base_lr, epoch_steps):
        super().__init__(spec, base_lr, epoch_steps)
        k, gamma = spec["every_epochs"], spec["gamma"]
        self._by_epoch = [
            self.base_lr * gamma ** math.floor((e - 1) / k)
            for e in range(1, len(self.epoch_steps) + 1)
        ]

    def _lr(self, step, epoch, step_in_epoch):
        return self._by_epoch[epoch - 1]


class ExponentialSchedule(LrSchedule):
    """Per epoch: lr = base * gamma^(epoch - 1).

    Source: torch.optim.lr_scheduler.ExponentialLR, stepped once per epoch.
    """

    def __init__(self, spec, base_lr, epoch_steps):
        super().__init__(spec, base_lr, epoch_steps)
        gamma = spec["gamma"]
        self._by_epoch = [
            self.base_lr * gamma ** (e - 1) for e in range(1, len(self.epoch_steps) + 1)
        ]

    def _lr(self, step, epoch, step_in_epoch):
        return self._by_epoch[epoch - 1]


class CosineSchedule(LrSchedule):
    """Per step over the whole run: lr = m + (base - m) * (1 + cos(pi * (s - 1) / S)) / 2.

    The last step stays just above min_lr m; S counts all steps, however uneven the epochs.
    Source: Loshchilov & Hutter 2017, "SGDR", arXiv:1608.03983, eq. 5 without restarts;
    equals torch's CosineAnnealingLR(T_max=S, eta_min=m) stepped per step.
    """

    def __init__(self, spec, base_lr, epoch_steps):
        super().__init__(spec, base_lr, epoch_steps)
        self._min = spec["min_lr"]
        self._half_range = (self.base_lr - self._min) / 2
        self._radians_per_step = math.pi / self.total_steps

    def _lr(self, step, epoch, step_in_epoch):
        return self._min + self._half_range * (1 + math.cos(self._radians_per_step * (step - 1)))


class WarmRestartsSchedule(LrSchedule):
    """SGDR: cycle i lasts T_i = k * c^i epochs (k = first_cycle_epochs, c = cycle_mult);
    within it lr = m + (base - m) * (1 + cos(pi * t_cur / T_i)) / 2, t_cur the fractional
    epochs since the cycle began. A "restart" event marks the first step of every later cycle.

    Source: Loshchilov & Hutter 2017, "SGDR: Stochastic Gradient Descent with Warm Restarts",
    arXiv:1608.03983, eq. 5; torch's CosineAnnealingWarmRestarts counts in steps instead.
    """

    def __init__(self, spec, base_lr, epoch_steps):
        super().__init__(spec, base_lr, epoch_steps)
        k, c = spec["first_cycle_epochs"], spec["cycle_mult"]
        if k <= 0 or c < 1:  # cycles that shrink could never cover the run
            raise ValueError("warm_restarts needs first_cycle_epochs > 0 and cycle_mult >= 1")
        self._min = spec["min_lr"]
        self._half_range = (self.base_lr - self._min) / 2
        self._starts, self._lengths = [0.0], [float(k)]
        while self._starts[-1] + self._lengths[-1] < len(self.epoch_steps):
            self._starts.append(self._starts[-1] + self._lengths[-1])
            self._lengths.append(self._lengths[-1] * c)
        for cycle, start in enumerate(self._starts[1:], start=1):
            self._add_event(self._first_step_from(start), "restart", cycle=cycle)

    def _lr(self, step, epoch, step_in_epoch):
        t = self._fractional_epoch(epoch, step_in_epoch)
        i = bisect_right(self._starts, t) - 1
        cos = math.cos(math.pi * (t - self._starts[i]) / self._lengths[i])
        return self._min + self._half_range * (1 + cos)

    def _first_step_from(self, t_start: float) -> int:
        """The first global step whose t is >= t_start (t computed exactly as in `_lr`)."""
        epoch = int(t_start) + 1
        n = self.epoch_steps[epoch - 1]
        j = math.ceil((t_start - (epoch - 1)) * n)
        while j > 0 and self._fractional_epoch(epoch, j - 1) >= t_start:
            j -= 1
        while j < n and self._fractional_epoch(epoch, j) < t_start:
            j += 1
        return self.first_step[epoch - 1] + j  # j == n is the next epoch's first step


class CyclicSchedule(LrSchedule):
    """Triangular cycles between min_lr a and max_lr b, h = half_cycle_epochs, t fractional:
    cycle = floor(1 + t / 2h), x = |t / h - 2 * cycle + 1|, lr = a + (b - a) * max(0, 1 - x),
    times 1 / 2^(cycle - 1) in mode "triangular2". The base learning_rate is not used.

    Source: Smith 2017, "Cyclical Learning Rates for Training Neural Networks",
    arXiv:1506.01186, section 3.1; torch's CyclicLR counts in steps instead.
    """

    def __init__(self, spec, base_lr, epoch_steps):
        super().__init__(spec, base_lr, epoch_steps)
        if spec["mode"] not in CYCLIC_MODES:
            raise ValueError(f"unknown cyclic mode {spec['mode']!r}")
        self._halving = spec["mode"] == "triangular2"
        self._low, self._high = spec["min_lr"], spec["max_lr"]
        self._half_cycle = spec["half_cycle_epochs"]

    def _lr(self, step, epoch, step_in_epoch):
        t = self._fractional_epoch(epoch, step_in_epoch)
        cycle = math.floor(1 + t / (2 * self._half_cycle))
        x = abs(t / self._half_cycle - 2 * cycle + 1)
        amplitude = (self._high - self._low) * max(0.0, 1 - x)
        if self._halving:
            amplitude /= 2 ** (cycle - 1)
        return self._low + amplitude


class OneCycleSchedule(LrSchedule):
    """The sequence of torch's OneCycleLR(max_lr=b, total_steps=S) with its defaults:
    cosine from b/25 up to b over the first 30% of steps, then cosine down to b/25/1e4.
    Momentum is not cycled: schedules set the lr only.

    Source: Smith & Topin 2018, "Super-Convergence", arXiv:1708.07120; arithmetic follows
    torch.optim.lr_scheduler.OneCycleLR.get_lr step for step.
    """

    # torch's defaults, which follow the paper; not tuned on our data.
    PCT_START, DIV_FACTOR, FINAL_DIV_FACTOR = 0.3, 25.0, 1e4

    def __init__(self, spec, base_lr, epoch_steps):
        super().__init__(spec, base_lr, epoch_steps)
        self._peak = spec["max_lr"]
        self._initial = self._peak / self.DIV_FACTOR
        self._final = self._initial / self.FINAL_DIV_FACTOR
        # 0-based step indexes, as in torch; the peak's may be fractional
        self._peak_index = float(self.PCT_START * self.total_steps) - 1
        self._last_index = self.total_steps - 1

    def _lr(self, step, epoch, step_in_epoch):
        index = step - 1
        if index <= self._peak_index:
            start, end, pct = self._initial, self._peak, index / self._peak_index
        else:
            pct = (index - self._peak_index) / (self._last_index - self._peak_index)
            start, end = self._peak, self._final
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


class PlateauSchedule(LrSchedule):
    """Decay on a validation-loss plateau: an epoch improves when val_loss < best * (1 - 1e-4);
    after more than `patience_epochs` epochs in a row without improvement, lr <- lr * factor
    (a "decay" event at the next epoch's first step) and the count starts again. When lr * factor
    would fall below min_lr, the schedule sets `stop_reason` instead of decaying.

    Source: torch.optim.lr_scheduler.ReduceLROnPlateau (mode "min", rel threshold 1e-4,
    cooldown 0), which clamps at min_lr where this schedule stops the run. Epochs without a
    validation loss and the run's final epoch (nothing left to apply a decay to) decide nothing.
    """

    def __init__(self, spec, base_lr, epoch_steps):
        super().__init__(spec, base_lr, epoch_steps)
        self._factor, self._patience = spec["factor"], spec["patience_epochs"]
        self._min = spec["min_lr"]
        self._current = self.base_lr
        self._best = math.inf
        self._bad_epochs = 0

    def _lr(self, step, epoch, step_in_epoch):
        return self._current

    def end_epoch(self, epoch: int, val_loss: float | None) -> None:
        if val_loss is None or epoch >= len(self.epoch_steps):
            return
        if val_loss < self._best * (1 - PLATEAU_REL_THRESHOLD):
            self._best, self._bad_epochs = val_loss, 0
            return
        self._bad_epochs += 1
        if self._bad_epochs <= self._patience:
            return
        self._bad_epochs = 0
        decayed = self._current * self._factor
        if decayed < self._min:
            self.stop_reason = PLATEAU_STOP_REASON
            return
        self._current = decayed
        step = self.first_step[epoch]
        self._pending_events.append(
            {
                "type": "decay",
                "step": step,
                "epoch": epoch + 1,
                "lr": self._with_warmup(decayed, step),
            }
        )

    def state_dict(self) -> dict:
        return {"lr": self._current, "best": self._best, "bad_epochs": self._bad_epochs}

    def load_state_dict(self, state: dict) -> None:
        self._current, self._best = state["lr"], state["best"]
        self._bad_epochs = state["bad_epochs"]


SCHEDULES: dict[str, type[LrSchedule]] = {
    "constant": ConstantSchedule,
    "step": StepSchedule,
    "exponential": ExponentialSchedule,
    "cosine": CosineSchedule,
    "warm_restarts": WarmRestartsSchedule,
    "cyclic": CyclicSchedule,
    "one_cycle": OneCycleSchedule,
    "plateau": PlateauSchedule,
}


def build_schedule(spec: dict | None, base_lr: float, epoch_steps: list[int]) -> LrSchedule:
    """The schedule `spec` describes (None means constant) for a run of `epoch_steps`."""
    if spec is None:
        spec = {"type": "constant"}
    schedule_class = SCHEDULES.get(spec.get("type"))
    if schedule_class is None:
        raise ValueError(f"unknown lr_schedule type {spec.get('type')!r}")
    return schedule_class(spec, base_lr, epoch_steps)


class RunSchedule:
    """The lr of every step of a run, as the loop sets it and the preview plots it: the lr
    schedule, rescaled to the new base rate from an optimizer switch on, replaced by SWA's rate
    from its start. The plateau schedule decays only when the loop reports its validation
    losses (`end_epoch`); the preview reports none, so it plots the lr as if never decaying."""

    def __init__(self, config: dict, epoch_steps: list[int]):
        self.schedule = build_schedule(config["lr_schedule"], config["learning_rate"], epoch_steps)
        switch, swa = config.get("optimizer_switch"), config.get("swa")
        self._switch_epoch = switch["at_epoch"] if switch else math.inf
        self._switch_scale = switch["learning_rate"] / config["learning_rate"] if switch else 1.0
        self._swa_epoch = swa["start_epoch"] if swa else math.inf
        self._swa_lr = swa["lr"] if swa else None

    def lr_at(self, step: int) -> float:
        """The lr of the update at global `step` (1-based). Call it once per step, in order:
        the schedule's events of a step are emitted as it is reached."""
        epoch, step_in_epoch = self.schedule.position(step)
        if epoch >= self._swa_epoch:  # the schedule is not consulted (nor its events emitted)
            return self._swa_lr
        scale = self._switch_scale if epoch >= self._switch_epoch else 1.0
        return scale * self.schedule.lr(step, epoch, step_in_epoch)

    def end_epoch(self, epoch: int, val_loss: float | None) -> None:
        self.schedule.end_epoch(epoch, val_loss)

    @property
    def stop_reason(self) -> str | None:
        return self.schedule.stop_reason

    def drain_events(self) -> list[dict]:
        return self.schedule.drain_events()

    def state_dict(self) -> dict:
        return self.schedule.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.schedule.load_state_dict(state)


def run_lr_preview(config: dict, epoch_steps: list[int]) -> list[float]:
    """The lr of every step of a run as the loop will set it (plateau: as if never decaying)."""
    schedule = RunSchedule(config, epoch_steps)
    return [schedule.lr_at(step) for step in range(1, sum(epoch_steps) + 1)]
