"""Which loss fits which target."""

from __future__ import annotations

# Loss names by the task they fit; the first one is the task's default.
LOSSES_BY_TASK = {
    "classification": ("cross_entropy", "binary_cross_entropy", "hinge", "squared_hinge"),
    "regression": ("mse", "mae", "huber", "msle", "poisson"),
}
NON_NEGATIVE_TARGET_LOSSES = ("msle", "poisson")
BINARY_ONLY_LOSSES = ("binary_cross_entropy",)
# Losses whose minimizer moves with an affine change of the target: trained on the target
# standardized on the training rows (target_scaling), their predictions scaled back exactly.
# msle and poisson read the raw values (logs, counts) and stay unscaled.
SCALABLE_TARGET_LOSSES = ("mse", "mae", "huber")
TARGET_SCALINGS = ("standardize", "none")


def target_scale_applies(config: dict) -> bool:
    """Whether the run trains on a standardized target. A config without the key (made before
    target_scaling existed, or a test's explicit one) trains on the raw target, as it did."""
    return (
        config.get("task") == "regression"
        and config.get("target_scaling") == "standardize"
        and config.get("loss") in SCALABLE_TARGET_LOSSES
    )


def loss_misfit(
    loss: str, task: str, n_classes: int | None, target_min: float | None
) -> str | None:
    """Why `loss` cannot train this target, naming what would fit; None when it fits."""
    fitting = LOSSES_BY_TASK[task]
    if loss not in fitting:
        return f"{loss} does not fit a {task} target; use one of: {', '.join(fitting)}."
    if loss in BINARY_ONLY_LOSSES and n_classes != 2:
        return f"{loss} needs exactly two classes; this target has {n_classes}. Use cross_entropy, hinge or squared_hinge."
    if loss in NON_NEGATIVE_TARGET_LOSSES and target_min is not None and target_min < 0:
        others = ", ".join(x for x in fitting if x not in NON_NEGATIVE_TARGET_LOSSES)
        return f"{loss} needs a target of counts or values >= 0; this one reaches {target_min:g}. Use {others}."
    return None
