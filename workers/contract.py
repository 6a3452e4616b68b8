"""What the web and the worker agree on. Imports neither Django nor torch.

The web enqueues training by task name on the queue below; the run spec is the experiment's
validated config (every default filled in), whose option names are listed here.
"""

TRAINING_QUEUE = "training"
TRAIN_RUN_TASK = "downhill.train_run"

TASKS = ("classification", "regression")

OPTIMIZERS = ("sgd", "rmsprop", "adam", "adamw", "adagrad")

# Loss names by the task they fit; the first one is the task's default.
LOSSES_BY_TASK = {
    "classification": ("cross_entropy",),
    "regression": ("mse", "mae", "huber"),
}

MODEL_TYPES = ("mlp", "linear")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu")
