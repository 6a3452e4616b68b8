"""Validation metrics, computed on the device and read to the host in one go."""

from __future__ import annotations

import torch

EVAL_CHUNK_ROWS = 65_536  # validation in chunks bounds memory on large sets


@torch.no_grad()
def evaluate(
    model, objective, x: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor
) -> tuple[dict, dict]:
    """(metrics, details) of `model` on a validation set.

    `targets` are what the loss takes (objective.encode_targets), `labels` the class indices or
    values. Metrics: val_loss (mean over rows), and val_accuracy + val_f1 (macro F1 over the
    classes present in labels or predictions) for classification, or val_mae, val_rmse and
    val_r2 for regression. Details: the confusion matrix (rows = true class) for classification.
    """
    was_training = model.training
    model.eval()
    n = len(x)
    total = torch.zeros((), device=x.device, dtype=torch.float64)
    classification = objective.task == "classification"
    if classification:
        k = objective.n_classes
        confusion = torch.zeros(k * k, device=x.device, dtype=torch.int64)
    else:
        sums = torch.zeros(4, device=x.device, dtype=torch.float64)  # |e|, e², y, y²
    for start in range(0, n, EVAL_CHUNK_ROWS):
        end = start + EVAL_CHUNK_ROWS
        out = model(x[start:end]).float()
        total += objective.loss_sum(out, targets[start:end]).double()
        predicted = objective.predict(out)
        if classification:
            confusion += torch.bincount(labels[start:end] * k + predicted, minlength=k * k)
        else:
            truth = labels[start:end].double()
            error = predicted.double() - truth
            sums += torch.stack(
                [error.abs().sum(), (error**2).sum(), truth.sum(), (truth**2).sum()]
            )
    model.train(was_training)

    if classification:
        values = torch.cat([confusion.double(), total.reshape(1)]).tolist()  # the one host sync
        loss = values[-1]
        counts = [[int(v) for v in values[row * k : (row + 1) * k]] for row in range(k)]
        correct = sum(counts[i][i] for i in range(k))
        f1s = []
        for c in range(k):
            support = sum(counts[c])
            predicted_c = sum(row[c] for row in counts)
            if support or predicted_c:
                f1s.append(2 * counts[c][c] / (support + predicted_c))
        metrics = {"val_loss": loss / n, "val_accuracy": correct / n, "val_f1": sum(f1s) / len(f1s)}
        return metrics, {"confusion_matrix": counts}
    loss, abs_err, sq_err, y_sum, y_sq = torch.cat([total.reshape(1), sums]).tolist()
    variance_sum = y_sq - y_sum * y_sum / n
    metrics = {
        "val_loss": loss / n,
        "val_mae": abs_err / n,
        "val_rmse": (sq_err / n) ** 0.5,
        "val_r2": 1.0 - sq_err / variance_sum if variance_sum > 0 else 0.0,
    }
    return metrics, {}
