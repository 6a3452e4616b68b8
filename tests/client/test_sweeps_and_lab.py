"""`downhill sweeps` and `downhill lab lr-find` as subprocesses, and the library's Sweeps and
Lab, against a live server with a real worker training every trial and range test."""

from __future__ import annotations

import json
import signal
import subprocess

import pytest

from downhill_client import ApiError, Client, Sweep

from .conftest import DOWNHILL
from .test_cli import ok, one_line_error

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SWEEP_YAML = """\
name: lr grid
base: {epochs: 2, seed: 1, batch_size: 64}
space:
  learning_rate: {type: categorical, values: [0.01, 0.1]}
method: grid
max_trials: 10
max_concurrent: 1
"""


def test_sweep_create_watch_list_show_and_cancel(downhill, iris_csv, tmp_path):
    dataset = ok(downhill("datasets", "upload", iris_csv, "--target", "species")).stdout.strip()
    (tmp_path / "sweep.yaml").write_text(SWEEP_YAML)

    created = downhill("sweeps", "create", "-c", "sweep.yaml", "--dataset", dataset, "--watch",
                       timeout=300)  # fmt: skip
    ok(created)
    sweep_id = int(created.stdout.strip())
    assert f"sweep {sweep_id} finished · 2/2 trials done (2 complete" in created.stderr

    listed = json.loads(ok(downhill("sweeps", "ls", "--json")).stdout)
    assert [(s["id"], s["status"], s["progress"]["complete"]) for s in listed] == [
        (sweep_id, "finished", 2)
    ]
    shown = json.loads(ok(downhill("sweeps", "show", sweep_id, "--json")).stdout)
    trials = shown["trials"]
    assert sorted(t["params"]["learning_rate"] for t in trials) == [0.01, 0.1]
    best = min(trials, key=lambda t: t["value"])
    assert shown["sweep"]["best"]["number"] == best["number"]

    text = ok(downhill("sweeps", "show", sweep_id)).stdout
    assert f"best: trial {best['number']}, val_loss" in text
    assert f"run {best['run']}: learning_rate=" in text
    assert text.count("complete") >= 3  # the progress line and each trial's row

    # A long sweep, cancelled: its running trial stops, the watch exits 1.
    long = tmp_path / "long.yaml"
    long.write_text(SWEEP_YAML.replace("epochs: 2", "epochs: 5000").replace("64", "1"))
    long_id = ok(downhill("sweeps", "create", "-c", long, "--dataset", dataset)).stdout.strip()
    cancelled = ok(downhill("sweeps", "cancel", long_id))
    assert f"sweep {long_id}: cancelled" in cancelled.stderr
    assert downhill("sweeps", "create", "-c", long, "--dataset", "999999").returncode == 2
    assert "sweep " + long_id + " cancelled" in ok(downhill("sweeps", "show", long_id)).stdout


def test_sweep_errors_are_one_line_naming_the_field(downhill, tmp_path):
    (tmp_path / "bad.yaml").write_text(
        "base: {dataset: 999999}\nspace: {learning_rate: {type: categorical, values: [0.1]}}\n"
    )
    one_line_error(downhill("sweeps", "create", "-c", "bad.yaml"), 2, "base.dataset")
    one_line_error(downhill("sweeps", "create", "-c", "missing.yaml"), 2, "no such file")
    one_line_error(downhill("sweeps", "show", "999999"), 2, "No Sweep matches")
    one_line_error(downhill("sweeps", "cancel", "999999"), 2)
    assert json.loads(ok(downhill("sweeps", "ls", "--json")).stdout) == []


def test_lr_find_waits_prints_the_suggestions_and_cancels_on_ctrl_c(
    downhill, iris_csv, tmp_path, server
):
    dataset = ok(downhill("datasets", "upload", iris_csv)).stdout.strip()
    (tmp_path / "iris.yaml").write_text(f"dataset: {dataset}\nepochs: 1\n")
    experiment = json.loads(ok(downhill("run", "-c", "iris.yaml", "--json")).stdout)["id"]

    (tmp_path / "range.yaml").write_text(f"experiment: {experiment}\nstart_lr: 1.0e-5\n")
    found = ok(downhill("lab", "lr-find", "-c", "range.yaml", "--steps", "40", timeout=300))
    lines = found.stdout.splitlines()
    assert lines[0].startswith("range test ")
    assert [line.split()[0] for line in lines[1:4]] == ["steepest", "min_div_10", "valley"]
    for line in lines[1:4]:
        assert float(line.split()[1]) > 0

    as_json = json.loads(
        ok(downhill("lab", "lr-find", "--experiment", experiment, "--steps", "10", "--json")).stdout
    )
    assert as_json["status"] == "succeeded" and as_json["params"]["steps"] == 10
    assert len(as_json["series"]["lr"]) <= 10

    # Ctrl-C while waiting: nobody wants the answer any more, so the test is cancelled.
    waiting = subprocess.Popen(
        [DOWNHILL, "lab", "lr-find", "--experiment", str(experiment), "--steps", "1000",
         "--start-lr", "1e-6", "--end-lr", "1e-4"],
        env=downhill.environment(), cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    started = waiting.stderr.readline()
    assert started.startswith("range test "), started
    waiting.send_signal(signal.SIGINT)
    _, rest = waiting.communicate(timeout=60)
    assert waiting.returncode == 130, rest
    with Client(*server) as client:
        interrupted = client.lab.get(int(started.split()[2]))
        assert interrupted.status == "cancelled" or interrupted.raw["cancel_requested"]
        assert client.lab.wait(interrupted.id, interval=0.3, timeout=120).status == "cancelled"

    one_line_error(downhill("lab", "lr-find", "--experiment", "999999"), 2, "experiment")
    one_line_error(downhill("lab", "lr-find", "--experiment", experiment, "--steps", "1"), 2,
                   "steps")  # fmt: skip
    usage = downhill("lab", "lr-find")
    assert usage.returncode == 2 and "--experiment" in usage.stderr


def test_library_sweeps_and_range_tests(client, iris_csv):
    dataset = client.datasets.upload(iris_csv, target="species")
    spec = {
        "base": {"dataset": dataset.id, "epochs": 1, "seed": 1, "batch_size": 64},
        "space": {"learning_rate": {"type": "categorical", "values": [0.05]}},
        "method": "grid",
        "max_trials": 1,
    }
    seen: list[Sweep] = []
    sweep = client.sweeps.wait(client.sweeps.create(spec).id, seen.append, interval=0.3,
                               timeout=240)  # fmt: skip
    assert sweep.status == "finished" and sweep.progress.complete == 1 and seen[-1] is not None
    (trial,) = client.sweeps.trials(sweep.id)
    assert sweep.best.number == trial.number == 0 and trial.value == sweep.best.value
    assert client.runs.get(trial.run).succeeded
    assert [s.id for s in client.sweeps.list()] == [sweep.id]

    with pytest.raises(ApiError) as caught:
        client.sweeps.create({**spec, "method": "annealing"})
    assert caught.value.status_code == 400 and "method" in caught.value.errors

    test = client.lab.range_test(experiment=client.runs.get(trial.run).experiment, steps=20)
    test = client.lab.wait(test.id, interval=0.3, timeout=240)
    assert test.succeeded and test.suggestions.steepest and len(test.series["lr"]) <= 20
