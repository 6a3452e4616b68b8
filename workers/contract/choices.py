"""The names an experiment config chooses among."""

TASKS = ("classification", "regression")

OPTIMIZERS = ("sgd", "rmsprop", "adam", "adamw", "adagrad", "adadelta")
MOMENTUM_OPTIMIZERS = ("sgd", "rmsprop")

MODEL_TYPES = ("mlp", "linear", "cnn")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu")
INIT_TYPES = (
    "default", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "orthogonal",
    "normal", "zeros",
)  # fmt: skip

LR_SCHEDULE_TYPES = (
    "constant", "step", "exponential", "cosine", "warm_restarts", "cyclic", "one_cycle", "plateau",
)  # fmt: skip
CYCLIC_MODES = ("triangular", "triangular2")
EARLY_STOPPING_MONITORS = {"val_loss": "min", "val_accuracy": "max"}
PRECISIONS = ("fp32", "bf16")
