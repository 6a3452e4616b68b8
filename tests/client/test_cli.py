"""`downhill` as a subprocess against a live server and a real worker: the walk-through,
listings as JSON, exit codes and one-line errors."""

from __future__ import annotations

import csv
import io
import json
import stat

import pytest

from tests.client.conftest import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def ok(result):
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return result


def test_login_upload_run_watch_metrics_predict(downhill, iris_csv, tmp_path, server):
    login = downhill(
        "login", "--url", server[0], "--username", "ada", "--password", PASSWORD,
        env={"DOWNHILL_URL": None, "DOWNHILL_TOKEN": None},
    )  # fmt: skip
    ok(login)
    config_file = downhill.home / ".config" / "downhill" / "config.json"
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert json.loads(config_file.read_text())["url"] == server[0]
    from_file = {"DOWNHILL_URL": None, "DOWNHILL_TOKEN": None}  # the saved login only

    dataset_id = int(
        ok(
            downhill("datasets", "upload", iris_csv, "--target", "species", "--wait", env=from_file)
        ).stdout
    )
    listed = json.loads(ok(downhill("datasets", "ls", "--json", env=from_file)).stdout)
    assert [(d["id"], d["status"], d["n_rows"]) for d in listed] == [(dataset_id, "ready", 150)]

    (tmp_path / "iris.yaml").write_text(f"dataset: {dataset_id}\nepochs: 6\nlearning_rate: 0.05\n")
    run = ok(downhill("run", "-c", "iris.yaml", "--watch", env=from_file))
    assert "succeeded" in run.stderr
    assert "epoch 6/6" in run.stderr  # not a terminal: one plain line per epoch, no colour codes
    assert "\x1b[" not in run.stderr + run.stdout

    runs = json.loads(ok(downhill("runs", "ls", "--status", "succeeded", "--json")).stdout)
    assert len(runs) == 1 and runs[0]["status"] == "succeeded"
    run_id = runs[0]["id"]

    metrics = list(csv.reader(io.StringIO(ok(downhill("runs", "metrics", run_id, "--csv")).stdout)))
    assert metrics[0][0] == "step" and {"train_loss", "val_loss", "lr"} <= set(metrics[0])
    assert len(metrics) - 1 == runs[0]["progress"]["steps"]
    assert [int(row[0]) for row in metrics[1:]] == list(range(1, len(metrics)))

    rows = tmp_path / "rows.csv"
    rows.write_text(
        "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.7,,5.2,2.3\n"
    )
    predicted = list(
        csv.DictReader(io.StringIO(ok(downhill("runs", "predict", run_id, rows)).stdout))
    )
    assert len(predicted) == 2 and set(predicted[0]) == {
        "label",
        "p_setosa",
        "p_versicolor",
        "p_virginica",
    }
    assert predicted[0]["label"] == "setosa"

    saved = ok(downhill("model", "download", run_id, "--format", "onnx", "-o", "iris.onnx"))
    assert saved.stdout.strip() == "iris.onnx"
    import onnx  # the worker's export, parsed: a whole ONNX model came down

    graph = onnx.load(str(tmp_path / "iris.onnx")).graph
    assert [i.name for i in graph.input] == ["features"]
    default_name = ok(downhill("model", "download", run_id, "--format", "config")).stdout.strip()
    assert json.loads((tmp_path / default_name).read_text())["dataset"] == dataset_id
    one_line_error(downhill("model", "download", "999999"), 2)


def test_a_failed_run_exits_1_with_the_servers_reason(downhill, iris_csv, tmp_path):
    dataset_id = ok(downhill("datasets", "upload", iris_csv)).stdout.strip()
    (tmp_path / "diverge.json").write_text(
        json.dumps(
            {"dataset": int(dataset_id), "optimizer": "sgd", "learning_rate": 1e6, "epochs": 3}
        )
    )
    result = downhill("run", "-c", "diverge.json", "--watch")
    assert result.returncode == 1, result.stderr
    assert "failed: Training diverged" in result.stderr


def test_cancel_then_watch_exits_1(downhill, iris_csv, tmp_path):
    dataset_id = ok(downhill("datasets", "upload", iris_csv)).stdout.strip()
    (tmp_path / "long.yaml").write_text(f"dataset: {dataset_id}\nepochs: 5000\nbatch_size: 1\n")
    created = json.loads(ok(downhill("run", "-c", "long.yaml", "--json")).stdout)
    ok(downhill("runs", "cancel", created["run"]))
    assert downhill("runs", "watch", created["run"]).returncode == 1


def one_line_error(result, code, *words):
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


def test_bad_input_is_one_line_with_exit_code_2_or_3(downhill, tmp_path):
    no_file = {"DOWNHILL_URL": None, "DOWNHILL_TOKEN": None}
    config_file = downhill.home / ".config" / "downhill" / "config.json"
    config_file.parent.mkdir(parents=True)

    config_file.write_text("{not json")
    one_line_error(downhill("runs", "ls", env=no_file), 2, str(config_file), "not valid JSON")
    config_file.write_text('{"url": "http://x", "colour": "red"}')
    one_line_error(downhill("runs", "ls", env=no_file), 2, "unknown setting 'colour'")
    config_file.unlink()
    config_file.mkdir()  # unreadable as a file, even for root
    one_line_error(downhill("runs", "ls", env=no_file), 2, "cannot read the config file")
    config_file.rmdir()
    one_line_error(downhill("runs", "ls", env=no_file), 2, "no server URL")

    one_line_error(downhill("runs", "ls", env={"DOWNHILL_TOKEN": "wrong"}), 2, "Invalid token")
    one_line_error(downhill("run", "-c", "missing.yaml"), 2, "missing.yaml: no such file")
    (tmp_path / "bad.yaml").write_text("learning_rate: [unclosed\n")
    one_line_error(downhill("run", "-c", "bad.yaml"), 2, "not valid YAML")
    (tmp_path / "bad_value.yaml").write_text("dataset: 1\nlearning_rate: -1\n")
    one_line_error(downhill("run", "-c", "bad_value.yaml"), 2, "learning_rate")
    one_line_error(downhill("runs", "predict", "1", "missing.csv"), 2, "no such file")
    one_line_error(downhill("datasets", "upload", "missing.csv"), 2, "missing.csv: no such file")
    one_line_error(downhill("runs", "watch", "999999"), 2, "No Run matches")

    gone = downhill("--retries", "1", "runs", "ls", env={"DOWNHILL_URL": "http://127.0.0.1:9"})
    assert gone.returncode == 3 and "retrying in 0.5 s" in gone.stderr
    assert gone.stderr.strip().splitlines()[-1].startswith("error: cannot reach the server")

    usage = downhill("runs", "ls", "--status", "done")
    assert usage.returncode == 2 and "Invalid value for '--status'" in usage.stderr
    debug = downhill("--debug", "run", "-c", "missing.yaml")
    assert debug.returncode != 0 and "Traceback" in debug.stderr
