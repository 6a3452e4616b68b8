"""How a model's raw outputs o become predictions: named once, here, for every loss.

The run stores the name (`output_transform`); NumPy inference (the web's predictions) applies
it with `read_outputs` below, and the engine's objectives (workers/engine/losses.py) apply the
same names in torch, where this package cannot go (it never imports torch). A test holds the
two to the same numbers (tests/workers/test_losses.py).

  softmax     probabilities softmax(o), class argmax(o)
  sigmoid     one output; probabilities [sigmoid(-o), sigmoid(o)], class 1 when o > 0
  margin      no probabilities: scores o, class argmax(o)
  identity / clamp_min0 / exp    the value o / max(o, 0) / exp(o)
"""

from __future__ import annotations

import numpy as np

OUTPUT_TRANSFORMS: dict[str, str] = {
    "cross_entropy": "softmax",
    "binary_cross_entropy": "sigmoid",
    "hinge": "margin",
    "squared_hinge": "margin",
    "mse": "identity",
    "mae": "identity",
    "huber": "identity",
    "msle": "clamp_min0",
    "poisson": "exp",
}
PROBABILITY_TRANSFORMS = ("softmax", "sigmoid")
VALUE_TRANSFORMS = ("identity", "clamp_min0", "exp")


def sigmoid(x: np.ndarray) -> np.ndarray:
    # 1 / (1 + exp(-x)) = exp(-log(1 + exp(-x))); logaddexp neither overflows nor loses the
    # relative accuracy of the tiny values far left, as 1 / (1 + exp(-x)) and 0.5 + tanh would.
    return np.exp(-np.logaddexp(0.0, -x))


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def probabilities(kind: str, out: np.ndarray) -> np.ndarray | None:
    """Class probabilities (n × classes), or None for a transform that gives none."""
    if kind == "sigmoid":
        # sigmoid(-o) for the negative class, not 1 - sigmoid(o): it keeps its precision when
        # sigmoid(o) nears 1 (the engine does the same in torch).
        return np.stack([sigmoid(-out[:, 0]), sigmoid(out[:, 0])], axis=1)
    if kind == "softmax":
        return softmax(out)
    return None


def values(kind: str, out: np.ndarray) -> np.ndarray:
    """A regression's predicted values (n × 1)."""
    return {"identity": lambda o: o, "clamp_min0": lambda o: np.maximum(o, 0.0), "exp": np.exp}[
        kind
    ](out)


def predicted_classes(kind: str, out: np.ndarray) -> np.ndarray:
    """A classification's predicted class indexes (n)."""
    if kind == "sigmoid":
        return (out[:, 0] > 0).astype(np.int64)
    return out.argmax(axis=1)
