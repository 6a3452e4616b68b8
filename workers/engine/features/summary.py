"""The run's summary: what it trained, how far, and how the final model does on the
validation rows and, once, on the test rows (which chose nothing: not the epoch, not the
weights)."""

from __future__ import annotations

import torch

from ..evaluate import evaluate
from .final import Final

VAL_PREDICTION_SAMPLE = 500


def run_summary(trainer, final: Final) -> dict:
    state, data, best = trainer.state, trainer.data, trainer.features.best
    summary = {
        "final_train_loss": state.last_train_loss,
        "epochs_completed": state.completed_epochs,
        "steps_completed": state.step,
        "batch_size": trainer.batch_sizes[0],
        "steps_per_epoch": trainer.epoch_steps[0],
        "rows": data.sizes,
    }
    if trainer.val is not None and best.best["epoch"]:
        summary.update(
            final_val_loss=final.metrics.get("val_loss"),
            best_val_loss=best.min_val_loss,
            best_epoch=best.best["epoch"],
            final_metrics=final.metrics,
            **final.details,
        )
        if data.task == "classification":
            summary.update(
                val_accuracy=final.metrics.get("val_accuracy"),
                best_val_accuracy=best.best["metrics"]["val_accuracy"],
            )
        else:
            summary["val_predictions"] = val_predictions(trainer, final.model)
    if data.x_test is not None:
        summary["test_metrics"] = test_metrics(trainer, final.model)
    if state.stop_reason:
        summary["stop_reason"] = state.stop_reason
    if data.preprocessing.get("target_scale"):  # the losses' units; the metrics are the target's
        summary["target_scale"] = data.preprocessing["target_scale"]
        summary["loss_units"] = "standardized target: (y - mean) / std of the training rows"
    if data.preprocessing.get("ignored_columns"):
        summary["ignored_columns"] = data.preprocessing["ignored_columns"]
    return summary


@torch.no_grad()
def val_predictions(trainer, model: torch.nn.Module) -> dict:
    """For a predicted-vs-actual plot: the final model on the first validation rows."""
    x_val, _, labels = trainer.val
    model.eval()
    rows = slice(0, VAL_PREDICTION_SAMPLE)
    predicted = trainer.objective.predict(model(x_val[rows]).float())
    return {"actual": labels[rows].flatten().tolist(), "predicted": predicted.flatten().tolist()}


def test_metrics(trainer, model: torch.nn.Module) -> dict:
    """The final model on the test rows, once."""
    labels = trainer.data.y_test.to(trainer.device)
    x = trainer.data.x_test.to(trainer.device)
    metrics, _ = evaluate(
        model, trainer.objective, x, trainer.objective.encode_targets(labels), labels
    )
    return {"test_" + name.removeprefix("val_"): value for name, value in metrics.items()}
