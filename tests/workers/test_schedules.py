"""Learning-rate schedules against torch's own schedulers, driven the way a run drives them."""

from __future__ import annotations

import math

import pytest
import torch
from torch.optim import lr_scheduler

from workers.contract.schedules import PLATEAU_STOP_REASON, build_schedule, run_lr_preview

BASE_LR = 0.1


def run_lrs(schedule, epoch_steps, val_losses=None) -> list[float]:
    """The lr of every step, calling the schedule as the training loop does."""
    lrs, step = [], 0
    for epoch, n in enumerate(epoch_steps, start=1):
        for step_in_epoch in range(n):
            step += 1
            lrs.append(schedule.lr(step, epoch, step_in_epoch))
        schedule.end_epoch(epoch, val_losses[epoch - 1] if val_losses else None)
    return lrs


def torch_lrs(make_scheduler, epoch_steps, per="step", val_losses=None, base_lr=BASE_LR):
    """The lr torch's scheduler gives each update, on a dummy SGD optimizer; it is stepped
    after every update (per="step"), after every epoch, or after every epoch with its val loss."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    scheduler = make_scheduler(optimizer)
    lrs = []
    for epoch, n in enumerate(epoch_steps, start=1):
        for _ in range(n):
            lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            if per == "step":
                scheduler.step()
        if per == "epoch":
            scheduler.step()
        elif per == "val_loss":
            scheduler.step(val_losses[epoch - 1])
    return lrs


def ours(spec, epoch_steps, val_losses=None, base_lr=BASE_LR) -> list[float]:
    return run_lrs(build_schedule(spec, base_lr, epoch_steps), epoch_steps, val_losses)


def test_constant_schedule_and_no_schedule_keep_the_base_lr_as_a_plain_float():
    for spec in (None, {"type": "constant"}):
        lrs = ours(spec, [3, 2], base_lr=1)
        assert lrs == [1.0] * 5
        assert all(type(lr) is float for lr in lrs)


def test_step_schedule_matches_torch_step_lr_stepped_per_epoch():
    plan = [3] * 7
    spec = {"type": "step", "every_epochs": 2, "gamma": 0.5}
    expected = torch_lrs(lambda opt: lr_scheduler.StepLR(opt, 2, gamma=0.5), plan, per="epoch")
    assert ours(spec, plan) == pytest.approx(expected, rel=1e-9)


def test_exponential_schedule_matches_torch_exponential_lr_stepped_per_epoch():
    plan = [3] * 6
    spec = {"type": "exponential", "gamma": 0.7}
    expected = torch_lrs(lambda opt: lr_scheduler.ExponentialLR(opt, 0.7), plan, per="epoch")
    assert ours(spec, plan) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("plan", [[6] * 4, [10, 5, 3]], ids=["even", "uneven"])
def test_cosine_schedule_matches_torch_cosine_annealing_over_all_steps(plan):
    # T_max=S, not S-1: the documented formula divides by S, so the last step ends above min_lr.
    total = sum(plan)
    spec = {"type": "cosine", "min_lr": 0.001}
    expected = torch_lrs(
        lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=total, eta_min=0.001), plan
    )
    assert ours(spec, plan) == pytest.approx(expected, rel=1e-9)


def test_cosine_schedule_follows_the_documented_formula_at_both_ends():
    lrs = ours({"type": "cosine", "min_lr": 0.001}, [10, 5, 3])
    assert lrs[0] == BASE_LR
    assert lrs[-1] == pytest.approx(0.001 + 0.099 * (1 + math.cos(math.pi * 17 / 18)) / 2)


@pytest.mark.parametrize(("first", "mult"), [(1, 2), (2, 1), (1, 3)])
def test_warm_restarts_match_torch_cosine_annealing_warm_restarts(first, mult):
    steps_per_epoch = 4
    plan = [steps_per_epoch] * 9
    spec = {
        "type": "warm_restarts",
        "first_cycle_epochs": first,
        "cycle_mult": mult,
        "min_lr": 0.002,
    }
    expected = torch_lrs(
        lambda opt: lr_scheduler.CosineAnnealingWarmRestarts(
            opt, T_0=first * steps_per_epoch, T_mult=mult, eta_min=0.002
        ),
        plan,
    )
    assert ours(spec, plan) == pytest.approx(expected, rel=1e-9)


def test_warm_restarts_emit_a_restart_event_at_the_first_step_of_each_later_cycle():
    spec = {"type": "warm_restarts", "first_cycle_epochs": 1, "cycle_mult": 2, "min_lr": 0.0}
    schedule = build_schedule(spec, BASE_LR, [4] * 7)  # cycles of 1, 2 and 4 epochs
    run_lrs(schedule, [4] * 7)
    assert schedule.drain_events() == [
        {"type": "restart", "step": 5, "epoch": 2, "lr": BASE_LR, "cycle": 1},
        {"type": "restart", "step": 13, "epoch": 4, "lr": BASE_LR, "cycle": 2},
    ]
    assert schedule.drain_events() == []


def test_warm_restarts_with_fractional_cycles_restart_mid_epoch_on_uneven_epochs():
    spec = {"type": "warm_restarts", "first_cycle_epochs": 1.5, "cycle_mult": 1, "min_lr": 0.0}
    plan = [4, 6, 4, 2]  # restarts at t = 1.5 (epoch 2, step 3 of 6) and t = 3.0
    schedule = build_schedule(spec, BASE_LR, plan)
    lrs = run_lrs(schedule, plan)
    events = schedule.drain_events()
    assert [(e["step"], e["epoch"]) for e in events] == [(8, 2), (15, 4)]
    assert lrs[8 - 1] == BASE_LR and lrs[15 - 1] == BASE_LR
    # the step before a restart is near the bottom of the cosine: t_cur = 4/3 of T = 1.5 epochs
    assert lrs[7 - 1] == pytest.approx(BASE_LR * (1 + math.cos(math.pi * (4 / 3) / 1.5)) / 2)


@pytest.mark.parametrize("mode", ["triangular", "triangular2"])
@pytest.mark.parametrize("half_cycle", [1, 1.5])
def test_cyclic_schedule_matches_torch_cyclic_lr(mode, half_cycle):
    steps_per_epoch = 4
    plan = [steps_per_epoch] * 10
    spec = {
        "type": "cyclic",
        "mode": mode,
        "min_lr": 0.01,
        "max_lr": 0.2,
        "half_cycle_epochs": half_cycle,
    }
    expected = torch_lrs(
        lambda opt: lr_scheduler.CyclicLR(
            opt,
            base_lr=0.01,
            max_lr=0.2,
            step_size_up=half_cycle * steps_per_epoch,
            mode=mode,
            cycle_momentum=False,
        ),
        plan,
    )
    assert ours(spec, plan) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("mode", "third_epoch_second_step"),
    [("triangular", 0.01 + 0.1 / 3), ("triangular2", 0.01 + 0.1 / 3 / 2)],
)
def test_cyclic_schedule_counts_fractional_epochs_on_uneven_epochs(mode, third_epoch_second_step):
    spec = {"type": "cyclic", "mode": mode, "min_lr": 0.01, "max_lr": 0.11, "half_cycle_epochs": 1}
    lrs = ours(spec, [10, 5, 3], base_lr=99.0)  # base learning_rate is not used
    assert len(lrs) == 18
    assert lrs[0] == pytest.approx(0.01)  # t = 0
    assert lrs[5] == pytest.approx(0.06)  # epoch 1, step 5 of 10: t = 0.5
    assert lrs[10] == pytest.approx(0.11)  # epoch 2 starts: t = 1, the peak
    assert lrs[12] == pytest.approx(0.07)  # epoch 2, step 2 of 5: t = 1.4
    assert lrs[15] == pytest.approx(0.01)  # epoch 3 starts: t = 2, the next cycle
    assert lrs[16] == pytest.approx(third_epoch_second_step)  # t = 2 + 1/3


@pytest.mark.parametrize("plan", [[7] * 5, [10, 5, 3], [1, 2]], ids=["even", "uneven", "tiny"])
def test_one_cycle_schedule_matches_torch_one_cycle_lr(plan):
    total = sum(plan)
    expected = torch_lrs(lambda opt: lr_scheduler.OneCycleLR(opt, 0.5, total_steps=total), plan)
    assert ours({"type": "one_cycle", "max_lr": 0.5}, plan) == pytest.approx(expected, rel=1e-9)


PLATEAU = {"type": "plateau", "factor": 0.5, "patience_epochs": 2, "min_lr": 1e-6}
# 0.89995 improves on 0.9 by less than the relative threshold 1e-4, so it does not count.
PLATEAU_LOSSES = [1.0, 0.9, 0.9, 0.89995, 0.9, 0.8, 0.8, 0.81, 0.8, 0.8, 0.8, 0.7]


def test_plateau_schedule_matches_torch_reduce_lr_on_plateau_fed_the_same_losses():
    plan = [3] * len(PLATEAU_LOSSES)
    expected = torch_lrs(
        lambda opt: lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, min_lr=1e-6),
        plan,
        per="val_loss",
        val_losses=PLATEAU_LOSSES,
    )
    assert ours(PLATEAU, plan, PLATEAU_LOSSES) == pytest.approx(expected, rel=1e-9)


def test_plateau_schedule_emits_a_decay_event_at_the_first_step_after_each_decay():
    plan = [3] * len(PLATEAU_LOSSES)
    schedule = build_schedule(PLATEAU, BASE_LR, plan)
    run_lrs(schedule, plan, PLATEAU_LOSSES)
    assert schedule.drain_events() == [
        {"type": "decay", "step": 16, "epoch": 6, "lr": 0.05},  # decided after epoch 5
        {"type": "decay", "step": 28, "epoch": 10, "lr": 0.025},  # decided after epoch 9
    ]
    assert schedule.stop_reason is None


@pytest.mark.parametrize(("min_lr", "stop_after"), [(0.03, 3), (0.025, 4)])
def test_plateau_schedule_stops_the_run_instead_of_decaying_below_min_lr(min_lr, stop_after):
    spec = {"type": "plateau", "factor": 0.5, "patience_epochs": 0, "min_lr": min_lr}
    schedule = build_schedule(spec, BASE_LR, [2] * 6)
    step = 0
    for epoch in range(1, 7):
        for step_in_epoch in range(2):
            step += 1
            schedule.lr(step, epoch, step_in_epoch)
        schedule.end_epoch(epoch, 1.0)  # never improves after the first epoch
        assert (schedule.stop_reason is not None) == (epoch >= stop_after)
        if schedule.stop_reason:
            break
    assert schedule.stop_reason == PLATEAU_STOP_REASON
    decays = [event["lr"] for event in schedule.drain_events()]
    assert decays == [0.05, 0.025][: stop_after - 2]  # reaching min_lr exactly is allowed
    assert schedule.lr(step + 1, stop_after + 1, 0) == decays[-1]  # the lr did not drop


def test_plateau_schedule_decides_nothing_without_a_validation_loss_or_after_the_last_epoch():
    spec = {"type": "plateau", "factor": 0.5, "patience_epochs": 0, "min_lr": 0.09}
    schedule = build_schedule(spec, BASE_LR, [2] * 3)
    lrs = run_lrs(schedule, [2] * 3)  # no validation set
    assert lrs == [BASE_LR] * 6
    assert schedule.stop_reason is None
    assert schedule.drain_events() == []
    schedule = build_schedule(spec, BASE_LR, [2] * 2)
    run_lrs(schedule, [2] * 2, val_losses=[1.0, 1.0])  # the only bad epoch is the last one
    assert schedule.stop_reason is None
    assert schedule.drain_events() == []


def test_plateau_schedule_resumes_from_its_state_dict():
    plan = [3] * len(PLATEAU_LOSSES)
    uninterrupted = ours(PLATEAU, plan, PLATEAU_LOSSES)
    first = build_schedule(PLATEAU, BASE_LR, plan)
    run_lrs(first, plan[:7], PLATEAU_LOSSES[:7])  # 7 of the 12 epochs, then a checkpoint
    resumed = build_schedule(PLATEAU, BASE_LR, plan)
    resumed.load_state_dict(first.state_dict())
    rest = []
    for epoch in range(8, len(plan) + 1):
        for step_in_epoch in range(3):
            rest.append(resumed.lr((epoch - 1) * 3 + step_in_epoch + 1, epoch, step_in_epoch))
        resumed.end_epoch(epoch, PLATEAU_LOSSES[epoch - 1])
    assert rest == uninterrupted[7 * 3 :]


def test_warmup_ramps_linearly_then_hands_over_to_the_schedule():
    plan = [4] * 5
    cosine = {"type": "cosine", "min_lr": 0.0}
    plain = ours(cosine, plan)
    schedule = build_schedule({**cosine, "warmup_epochs": 1}, BASE_LR, plan)
    warmed = run_lrs(schedule, plan)
    assert warmed[:4] == pytest.approx([plain[s - 1] * s / 4 for s in range(1, 5)], rel=1e-12)
    assert warmed[3:] == plain[3:]
    assert schedule.drain_events() == [
        {"type": "warmup_end", "step": 4, "epoch": 1, "lr": plain[3]}
    ]


def test_warmup_on_a_constant_schedule_is_a_straight_line():
    lrs = ours({"type": "constant", "warmup_epochs": 1}, [4, 4])
    assert lrs == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1, 0.1, 0.1, 0.1], rel=1e-12)


@pytest.mark.parametrize(
    ("warmup_epochs", "plan", "warmup_steps"),
    [
        (0.3, [10, 10], 3),
        (0.07, [100], 7),  # 0.07 * 100 is 7.000000000000001 in floats: still 7 steps
        (0.25, [10, 10], 3),  # 2.5 steps round up
        (1.3, [10, 10], 13),
        (1.5, [10, 5, 3], 13),  # the second epoch has 5 steps
        (0.01, [10], 1),  # at least one step
        (3, [2, 2], 6),  # past the plan: epochs as long as the last one
    ],
)
def test_fractional_warmup_rounds_up_to_whole_steps_of_the_plan(warmup_epochs, plan, warmup_steps):
    schedule = build_schedule({"type": "constant", "warmup_epochs": warmup_epochs}, 1.0, plan)
    assert schedule.warmup_steps == warmup_steps
    lrs = run_lrs(schedule, plan)
    assert lrs[0] == pytest.approx(1 / warmup_steps)
    if warmup_steps <= len(lrs):  # full lr from step W on, not before
        assert lrs[warmup_steps - 1 :] == [1.0] * (len(lrs) - warmup_steps + 1)
        assert warmup_steps == 1 or lrs[warmup_steps - 2] < 1.0
    else:
        assert lrs[-1] == pytest.approx(len(lrs) / warmup_steps)


@pytest.mark.parametrize(
    "spec",
    [
        None,
        {"type": "step", "every_epochs": 1, "gamma": 0.5},
        {"type": "exponential", "gamma": 0.9},
        {"type": "cosine", "min_lr": 0.0, "warmup_epochs": 0.5},
        {"type": "warm_restarts", "first_cycle_epochs": 1, "cycle_mult": 2, "min_lr": 0.0},
        {
            "type": "cyclic",
            "mode": "triangular",
            "min_lr": 0.01,
            "max_lr": 0.1,
            "half_cycle_epochs": 1,
        },
        {"type": "one_cycle", "max_lr": 0.3},
        {"type": "plateau", "factor": 0.5, "patience_epochs": 0, "min_lr": 0.0},
    ],
    ids=lambda spec: (spec or {"type": "none"})["type"],
)
def test_schedule_preview_gives_one_lr_per_step_of_the_run(spec):
    plan = [10, 5, 3]
    preview = run_lr_preview({"lr_schedule": spec, "learning_rate": BASE_LR}, plan)
    assert len(preview) == 18
    assert preview == ours(spec, plan)  # without validation losses, plateau never decays


def test_plateau_preview_is_the_never_decaying_lr():
    spec = {"type": "plateau", "factor": 0.5, "patience_epochs": 0, "min_lr": 0.0}
    assert run_lr_preview({"lr_schedule": spec, "learning_rate": BASE_LR}, [3, 3]) == [BASE_LR] * 6
    assert ours(spec, [3, 3, 3], [1.0, 1.0, 1.0])[-1] == BASE_LR / 2  # while a run does decay


@pytest.mark.parametrize("spec", [{"type": "linear_decay"}, {}, {"gamma": 0.5}])
def test_unknown_schedule_type_is_rejected(spec):
    with pytest.raises(ValueError, match="unknown lr_schedule type"):
        build_schedule(spec, BASE_LR, [3])
