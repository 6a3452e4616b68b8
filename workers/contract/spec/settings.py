"""Every setting of an experiment config, once: its type, default, bounds or choices, help
text, the evidence for its default, its form section and label, and where it applies.

The order of SETTINGS is the order of a full config's keys; SECTIONS is the form's (and the
run page's) reading order.
"""

from __future__ import annotations

from dataclasses import replace

from workers.contract.losses import (
    BINARY_ONLY_LOSSES,
    LOSSES_BY_TASK,
    NON_NEGATIVE_TARGET_LOSSES,
    SCALABLE_TARGET_LOSSES,
    TARGET_SCALINGS,
)

from . import length
from .lr_schedules import EPOCHS, LR, LR_SCHEDULES, MAX_LR, WARMUP_EPOCHS, schedule_names
from .optimizers import (
    DEFAULT_OPTIMIZER,
    OPTIMIZERS,
    momentum_optimizers,
    nesterov_optimizers,
    optimizer_names,
)
from .types import Derived, Form, Setting, describe

TASKS = ("classification", "regression")
MODEL_TYPES = ("mlp", "linear", "cnn")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu")
INIT_TYPES = (
    "default", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "orthogonal",
    "normal", "zeros",
)  # fmt: skip
EARLY_STOPPING_MONITORS = {"val_loss": "min", "val_accuracy": "max"}
PRECISIONS = ("fp32", "bf16")
ALL_LOSSES = tuple(name for names in LOSSES_BY_TASK.values() for name in names)

MAX_EPOCHS = 10_000
MAX_BATCH_SIZE = 1_000_000
# Each step writes two metric points; past this a run would fill the database, not teach.
MAX_TOTAL_STEPS = 5_000_000
# Together the held-out shares leave at least a tenth of the rows for training.
MAX_HELD_OUT = 0.9
MAX_HIDDEN_LAYERS = 16
MAX_HIDDEN_UNITS = 8192
MAX_CLASSES = 1000
# One run's processes: a node task per machine, procs_per_node ranks on each (workers/distributed).
MAX_NODES = 64
MAX_PROCS_PER_NODE = 64

DATA, MODEL, OPTIMIZER, TRAINING = "Data", "Model", "Optimizer", "Training"
SCHEDULE, STOPPING = "Learning-rate schedule", "Stopping and averaging"
SECTIONS = (DATA, MODEL, OPTIMIZER, TRAINING, SCHEDULE, STOPPING)

_MLP_OR_CNN = (("model.type", ("mlp", "cnn")),)


def _lr_text() -> str:
    return "per optimizer: " + ", ".join(f"{n} {o.default_lr:g}" for n, o in OPTIMIZERS.items())


def _weight_decay_text() -> str:
    special = [
        f"{n} {o.default_weight_decay:g}" for n, o in OPTIMIZERS.items() if o.default_weight_decay
    ]
    return ", ".join(special) + ", else 0"


def _loss_help() -> str:
    """Which loss fits which target, in words, from workers.contract.losses."""

    def names(task: str) -> str:
        notes = {**dict.fromkeys(BINARY_ONLY_LOSSES, " (two classes)"),
                 **dict.fromkeys(NON_NEGATIVE_TARGET_LOSSES, " (targets ≥ 0)")}  # fmt: skip
        return ", ".join(name + notes.get(name, "") for name in LOSSES_BY_TASK[task])

    return "; ".join(f"{task}: {names(task)}" for task in LOSSES_BY_TASK) + (
        ". A loss that does not fit is refused, naming those that would"
    )


def _model_settings() -> tuple[Setting, ...]:
    return (
        Setting("model.type", "choice", "Model", "mlp, linear (linear / logistic regression), or cnn (image datasets)",
                default="mlp", choices=MODEL_TYPES,
                form=Form(short="model", choice_labels={"mlp": "MLP (hidden layers)", "linear": "Linear / logistic regression"},
                          offered=("mlp", "linear"))),
        Setting("model.hidden", "widths", "Hidden layers",
                f"widths, first to last (128, 64): at most {MAX_HIDDEN_LAYERS} layers of 1..{MAX_HIDDEN_UNITS}",
                default=[64, 64], when=(("model.type", ("mlp",)),), form=Form(short="hidden", prefill=True),
                evidence="within the issue-18 gate with the resolved length on iris, wine, diabetes, breast-cancer, digits "
                "and 2,000-row friedman1 (bench/quality/run.py, 5 seeds); other widths not measured, so kept"),
        Setting("model.channels", "widths", "Channels",
                f"convolution channels, first to last: at most {MAX_HIDDEN_LAYERS} layers of 1..{MAX_HIDDEN_UNITS}",
                default=[32, 64], when=(("model.type", ("cnn",)),), form=Form(hidden=True)),
        Setting("model.activation", "choice", "Activation", "after each hidden layer",
                default="relu", choices=ACTIVATIONS, when=_MLP_OR_CNN, form=Form(short="activation")),
        Setting("model.dropout", "number", "Dropout", "after each hidden layer, 0 to below 1",
                default=0.0, minimum=0, maximum=1, exclusive_max=True, when=_MLP_OR_CNN, form=Form(short="dropout", prefill=True)),
        Setting("model.batch_norm", "boolean", "Batch norm", "BatchNorm after each hidden layer",
                default=False, when=_MLP_OR_CNN, form=Form(short="batch norm", label="Batch norm after each hidden layer")),
    )  # fmt: skip


def _lr_schedule_settings() -> tuple[Setting, ...]:
    """The schedule's type, then each parameter once, applying to the schedules that take it."""
    type_ = Setting("lr_schedule.type", "choice", "Schedule", "formulas in the README", default="constant",
                    choices=schedule_names, form=Form(short="schedule", choice_labels=_schedule_labels()))  # fmt: skip
    params: dict[str, Setting] = {}
    for schedule in LR_SCHEDULES.values():
        for p in schedule.params:
            params.setdefault(p.name, p)
    return (type_, *(_merged(p) for p in params.values()), WARMUP_EPOCHS)


def _merged(p: Setting) -> Setting:
    """One form field for a parameter several schedules take (min_lr): its bounds and default
    are each schedule's own, so the field names them in words."""
    default = _schedule_default(p.name)
    too_long = len(describe(default)) > 24  # a placeholder shows about that much
    form = replace(p.form, placeholder="its schedule's default") if too_long else p.form
    when = (("lr_schedule.type", _schedules_taking(p.name)),)
    return replace(p, default=default, minimum=None, maximum=None, when=when, form=form)


def _schedule_labels():
    return {name: s.label for name, s in LR_SCHEDULES.items()}


def _schedules_taking(name: str):
    """The schedules that take a parameter, read from the registry when asked."""
    return lambda: tuple(
        s.name for s in LR_SCHEDULES.values() if any(p.name == name for p in s.params)
    )


def _schedule_default(name: str) -> Derived:
    def text() -> str:
        seen = {}
        for s in LR_SCHEDULES.values():
            for p in s.params:
                if p.name == name:
                    seen.setdefault(describe(p.default), []).append(s.name)
        first, *others = seen
        exceptions = "; ".join(", ".join(seen[o]) + f": {o}" for o in others)
        return f"{first} ({exceptions})" if others else first

    return Derived(text, lambda c: None)


SETTINGS: tuple[Setting, ...] = (
    Setting("dataset", "dataset", "Dataset", "id of one of your datasets", DATA, default=None),
    Setting("target", "column", "Target column", "column to predict", DATA,
            default=Derived("the dataset's target", lambda c: None)),
    Setting("task", "choice", "Task", "regression needs a numeric target; classification 2 to 1000 classes", DATA,
            default=Derived("from the task rule", lambda c: None), choices=TASKS,
            form=Form(blank="From the target column")),
    Setting("model", "typed", "Model", "each hidden layer is Linear → BatchNorm (if) → activation → Dropout (if); "
            '{"type": "linear"} is linear / logistic regression',
            MODEL, default={"type": "mlp", "hidden": [64, 64], "activation": "relu", "dropout": 0.0, "batch_norm": False},
            settings=_model_settings()),
    Setting("init", "typed", "Weight init", "how weights start; biases start at 0", MODEL,
            default={"type": "default"}, settings=(
                Setting("init.type", "choice", "Weight init", "zeros is allowed so you can watch a symmetric network fail to learn",
                        default="default", choices=INIT_TYPES,
                        form=Form(short="init", choice_labels={"default": "PyTorch default", "normal": "normal (std below)"})),
                Setting("init.std", "number", "Init std", "standard deviation of the normal init", default=0.01,
                        minimum=0, exclusive_min=True, maximum=100, when=(("init.type", ("normal",)),)),
            )),
    Setting("loss", "choice", "Loss", _loss_help(),
            MODEL, default=Derived(" for classification, ".join(n[0] for n in LOSSES_BY_TASK.values()) + " for regression",
                                   lambda c: LOSSES_BY_TASK[c["task"]][0]),
            choices=ALL_LOSSES, form=Form(blank="Default for the task")),
    Setting("target_scaling", "choice", "Target scaling",
            "regression: standardize trains on (y − mean) / std of the training rows (mse, mae, huber only; msle and poisson "
            "read raw values); predictions, val_mae/val_rmse/val_r2, the plots and exports are in the target's units, the "
            "training and validation loss in standardized units",
            MODEL, default=Derived(f"standardize for {', '.join(SCALABLE_TARGET_LOSSES)}, else none",
                                   lambda c: "standardize" if c.get("loss") in SCALABLE_TARGET_LOSSES else "none"),
            choices=TARGET_SCALINGS, when=(("task", ("regression",)),),
            evidence="diabetes (442 rows, target mean 152, std 77), the default MLP, Adam and length, 3 seeds: validation R² 0.171 raw, "
            "0.515 standardized, least squares 0.520 on the same splits (bench/quality/target_scaling.py)"),
    Setting("optimizer", "choice", "Optimizer", "the update rule", OPTIMIZER, default=DEFAULT_OPTIMIZER,
            choices=optimizer_names, evidence="Adam trains the bundled sets at its default rate with no tuning"),
    Setting("learning_rate", "number", "Learning rate", "step size, > 0", OPTIMIZER,
            default=Derived(_lr_text, lambda c: OPTIMIZERS[c["optimizer"]].default_lr),
            minimum=0, exclusive_min=True, maximum=MAX_LR,
            evidence="the libraries' conventions (PyTorch: sgd, adagrad, adadelta; Keras: adam, rmsprop); each reaches "
            ">= 90 % validation accuracy on iris, wine and breast-cancer in 20 epochs at batch 32 (tests/workers/test_engine.py). "
            "Kept after bench/quality/run.py (5 seeds, the resolved length): adam at 0.001 is within the issue-18 gate on "
            "every dataset measured; adam at 0.003 gave R² 0.490 (0.489) on diabetes, 97.2 % (96.5) on breast-cancer but "
            "96.8 % (97.0) on digits, below the gate there; sgd at 0.01 R² 0.488 on diabetes",
            form=Form(short="lr", initial=f"{OPTIMIZERS[DEFAULT_OPTIMIZER].default_lr:g}")),
    Setting("momentum", "number", "Momentum", "heavy-ball momentum; null for the optimizers that keep their own moment estimates",
            OPTIMIZER, default=0.0, minimum=0, maximum=1, exclusive_max=True,
            when=(("optimizer", momentum_optimizers),), evidence="PyTorch's default"),
    Setting("nesterov", "boolean", "Nesterov", "Nesterov momentum; needs a momentum above 0", OPTIMIZER,
            default=False, when=(("optimizer", nesterov_optimizers),), form=Form(label="Nesterov momentum")),
    Setting("weight_decay", "number", "Weight decay", "L2 penalty (decoupled for adamw)", OPTIMIZER,
            default=Derived(_weight_decay_text, lambda c: OPTIMIZERS[c["optimizer"]].default_weight_decay),
            minimum=0, maximum=1e3, evidence="PyTorch's defaults (AdamW exists for its decoupled decay; at 0 it would be Adam). "
            "At 0 the defaults are within the issue-18 gate on every dataset measured (bench/quality/run.py): early stopping's "
            "restore-best is the regularizer, so kept",
            form=Form(short="wd", placeholder="0 (adamw: 0.01)")),
    Setting("gradient_clipping", "variant", "Gradient clipping",
            "exactly one of max_norm (rescale the gradients' total L2 norm to at most x) or max_value (clip each component to ±x)",
            OPTIMIZER, default=None, form=Form(short="clipping", choice_labels={"": "Off", "max_norm": "By total norm", "max_value": "By value"}),
            settings=(
                Setting("gradient_clipping.max_norm", "number", "Max norm", "the gradients' largest total L2 norm",
                        default=1.0, minimum=0, exclusive_min=True, maximum=1e6, form=Form(placeholder="1")),
                Setting("gradient_clipping.max_value", "number", "Max value", "each gradient component's largest size",
                        default=1.0, minimum=0, exclusive_min=True, maximum=1e6, form=Form(placeholder="1")),
            )),
    Setting("batch_size", "batch", "Batch size",
            'rows per optimizer step; 1 is pure SGD, "full" is full-batch gradient descent; the last batch of an epoch may be smaller',
            TRAINING, default=32, minimum=1, maximum=MAX_BATCH_SIZE,
            evidence="the platform's documented default; small batches generalize well (Masters & Luschi 2018)",
            form=Form(short="batch", prefill=True)),
    Setting("batch_size_schedule", "object", "Batch-size schedule",
            "epoch e trains with min(max, ⌊batch_size · factor^⌊(e−1)/every_epochs⌋⌋), never more than the training rows: "
            "grow the batch instead of decaying the rate",
            TRAINING, default=None, evidence="Smith et al., Don't decay the learning rate, increase the batch size",
            form=Form(short="batch growth", label="Grow the batch size"), settings=(
                Setting("batch_size_schedule.every_epochs", "integer", "Every epochs", "epochs between growths",
                        default=5, minimum=1, maximum=EPOCHS, form=Form(prefill=True)),
                Setting("batch_size_schedule.factor", "number", "Factor", "the batch grows by this factor",
                        default=2.0, minimum=1, exclusive_min=True, maximum=100, form=Form(prefill=True)),
                Setting("batch_size_schedule.max", "integer", "Largest batch", "the batch grows no further",
                        default=Derived("the larger of batch_size and 1024", lambda c: max(c["batch_size"], 1024)),
                        minimum=1, maximum=MAX_BATCH_SIZE, form=Form(placeholder="1024")),
            )),
    Setting("epochs", "integer", "Epochs",
            f"passes over the training split; all epochs' steps together at most {MAX_TOTAL_STEPS:,}. Unset, it follows "
            "the data and early stopping (restore-best) is on where there is a validation split; set, it means exactly that",
            TRAINING, default=Derived(length.DEFAULT_TEXT, lambda c: None), minimum=1, maximum=MAX_EPOCHS,
            evidence=length.EVIDENCE, form=Form(placeholder="from the data")),
    Setting("lr_schedule", "typed", "Learning-rate schedule", "the rate of every optimizer update: a type and its parameters (see Learning-rate schedules)",
            SCHEDULE, default={"type": "constant", "warmup_epochs": 0}),  # settings: from LR_SCHEDULES
    Setting("optimizer_switch", "object", "Optimizer switch",
            "epochs at_epoch… train with a new optimizer (fresh state, same weight_decay) at its own rate, the schedule's shape scaled to it",
            STOPPING, default=None, evidence="Keskar & Socher, Improving generalization by switching from Adam to SGD",
            form=Form(short="switch", label="Switch optimizer"), settings=(
                Setting("optimizer_switch.at_epoch", "integer", "At epoch", "the first epoch trained with the new optimizer (required)",
                        default=Derived("half the epochs", lambda c: max(2, c["epochs"] // 2)), minimum=2, maximum=EPOCHS,
                        form=Form(placeholder="")),
                Setting("optimizer_switch.optimizer", "choice", "Optimizer", "the optimizer to finish with",
                        default="sgd", choices=optimizer_names, evidence="Keskar & Socher finish with SGD"),
                Setting("optimizer_switch.learning_rate", "number", "Learning rate", "the new optimizer's rate",
                        default=Derived("its default", lambda c: OPTIMIZERS[c["optimizer_switch.optimizer"]].default_lr),
                        minimum=0, exclusive_min=True, maximum=MAX_LR),
                Setting("optimizer_switch.momentum", "number", "Momentum", "the new optimizer's momentum",
                        default=0.9, minimum=0, maximum=1, exclusive_max=True,
                        when=(("optimizer_switch.optimizer", momentum_optimizers),),
                        evidence="Keskar & Socher finish with SGD with momentum 0.9"),
            )),
    Setting("early_stopping", "object", "Early stopping",
            "stop after patience_epochs epochs without an improvement of at least min_delta; restore_best makes the best epoch's model the final one",
            STOPPING, default=Derived(length.EARLY_STOPPING_TEXT, lambda c: None), evidence=length.EARLY_STOPPING_EVIDENCE,
            form=Form(short="early stop"), settings=(
                Setting("early_stopping.patience_epochs", "integer", "Patience (epochs)", "epochs without improvement",
                        default=5, minimum=1, maximum=EPOCHS, form=Form(prefill=True)),
                Setting("early_stopping.min_delta", "number", "Min improvement", "the least change that counts",
                        default=0.0, minimum=0, maximum=1e6, form=Form(prefill=True)),
                Setting("early_stopping.monitor", "choice", "Monitor", "val_accuracy for classification only",
                        default="val_loss", choices=tuple(EARLY_STOPPING_MONITORS)),
                Setting("early_stopping.restore_best", "boolean", "Keep the best epoch's model", "the final model is the best epoch's",
                        default=True),
            )),
    Setting("swa", "object", "Weight averaging (SWA)",
            "from start_epoch on the rate is lr and the weights after each epoch are averaged (torch.optim.swa_utils); "
            "batch-norm statistics are recomputed; the average is the run's final model. Not together with restore_best", STOPPING, default=None,
            evidence="Izmailov et al.: average over the last quarter of training",
            form=Form(label="Stochastic weight averaging"), settings=(
                Setting("swa.start_epoch", "integer", "From epoch", "the first averaged epoch",
                        default=Derived("¾ of the epochs", lambda c: max(1, round(c["epochs"] * 0.75))),
                        minimum=1, maximum=EPOCHS),
                Setting("swa.lr", "number", "SWA lr", "the rate while averaging", default=LR,
                        minimum=0, exclusive_min=True, maximum=MAX_LR),
            )),
    Setting("validation_split", "number", "Validation split",
            "share of rows held out (stratified by class); 0 = no validation metrics (and no early stopping or plateau)",
            DATA, default=0.2, minimum=0, maximum=MAX_HELD_OUT, form=Form(short="val split", prefill=True),
            evidence="the common 80/20 hold-out"),
    Setting("test_split", "number", "Test split",
            "share of rows held out from training and validation (stratified, drawn after the validation rows, so adding it "
            "leaves those as they were); the final model is measured on them once, into the summary's test_metrics. "
            f"validation_split + test_split ≤ {MAX_HELD_OUT:g}", DATA,
            default=0.0, minimum=0, maximum=MAX_HELD_OUT, form=Form(short="test split", prefill=True)),
    Setting("seed", "integer", "Seed", "same seed and config on a CPU: identical curves", TRAINING,
            default=Derived("drawn at random and recorded", lambda c: None), minimum=0, maximum=2**31 - 1,
            form=Form(placeholder="random")),
    Setting("precision", "choice", "Precision", "bf16: bfloat16 autocast on a GPU; a CPU run stays fp32 and records an event",
            TRAINING, default="fp32", choices=PRECISIONS, form=Form(choice_labels={"bf16": "bf16 (GPU)"})),
    Setting("distributed", "object", "Distributed training",
            "train one run as nodes × procs_per_node processes (torch.distributed DDP: NCCL on GPUs, gloo on CPUs); "
            "each takes its share of every global batch, so batch_size means what it means on one process; "
            "null is one process",
            TRAINING, default=None,
            form=Form(hidden=True), settings=(
                Setting("distributed.nodes", "integer", "Nodes", "machines, one node task each, rendezvoused on the first",
                        default=1, minimum=1, maximum=MAX_NODES),
                Setting("distributed.procs_per_node", "integer", "Processes per node",
                        "processes (ranks) on each machine: one per GPU, or a few on CPUs",
                        default=1, minimum=1, maximum=MAX_PROCS_PER_NODE),
            )),
)  # fmt: skip

CONFIG_KEYS = tuple(s.key for s in SETTINGS)
BY_KEY = {s.key: s for s in SETTINGS}


def settings_of(top: Setting) -> tuple[Setting, ...]:
    """An object's settings; a schedule's are read from the registry when asked."""
    return _lr_schedule_settings() if top.key == "lr_schedule" else top.settings


def all_settings() -> tuple[Setting, ...]:
    """Every setting, each object's own after it, as the form and the reference list them."""
    return tuple(s for top in SETTINGS for s in (top, *settings_of(top)))
