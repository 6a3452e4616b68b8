"""The client's own pieces, without a server: the multipart body, metrics reshaped, the
sparkline and config files."""

from __future__ import annotations

import io
import json
from email.parser import BytesParser
from email.policy import HTTP

import pytest

from downhill_client import ConfigError, Metrics, RangeTest, Trial
from downhill_client.cli.live import sparkline
from downhill_client.config import read_config, resolve, write_config
from downhill_client.upload import CHUNK_BYTES, MultipartUpload


def test_multipart_body_has_its_announced_length_and_sends_the_file_in_chunks(tmp_path):
    path = tmp_path / 'we"ird.csv'
    path.write_bytes(b"a,b\n" + b"1,2\n" * (CHUNK_BYTES // 2))  # two chunks and a bit
    sent = []
    body = MultipartUpload(path, {"target": "b"}, lambda s, t: sent.append(s))
    pieces = list(body)
    assert sum(map(len, pieces)) == body.length
    assert max(map(len, pieces)) == CHUNK_BYTES and sent[-1] == path.stat().st_size
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + body.headers["Content-Type"].encode() + b"\r\n\r\n" + b"".join(pieces)
    )
    target, upload = message.iter_parts()
    assert target.get_param("name", header="content-disposition") == "target"
    assert upload.get_filename() == "we%22ird.csv"
    assert upload.get_payload(decode=True) == path.read_bytes()


def test_metrics_rows_csv_and_dataframe_join_series_on_their_steps():
    metrics = Metrics(
        {
            "train_loss": {"steps": [1, 2, 3, 4], "values": [1.0, 0.8, 0.6, 0.5]},
            "val_loss": {"steps": [2, 4], "values": [0.9, 0.7]},
        }
    )
    assert metrics.rows() == [[1, 1.0, None], [2, 0.8, 0.9], [3, 0.6, None], [4, 0.5, 0.7]]
    out = io.StringIO()
    metrics.write_csv(out)
    assert out.getvalue() == "step,train_loss,val_loss\n1,1.0,\n2,0.8,0.9\n3,0.6,\n4,0.5,0.7\n"
    frame = metrics.to_dataframe()
    assert frame.index.name == "step" and frame["val_loss"].isna().sum() == 2
    assert frame.loc[4].tolist() == [0.5, 0.7]


def test_sparkline_spans_the_values_and_fits_its_width():
    assert sparkline([3.0, 2.0, 1.0]) == "█▅▁"
    assert len(sparkline([float(i) for i in range(1000)], width=40)) == 40
    assert sparkline([1.0, 1.0]) == "▁▁" and sparkline([]) == ""


def test_config_file_is_private_and_arguments_win(tmp_path, monkeypatch):
    path = tmp_path / "downhill" / "config.json"
    write_config(path, "http://file", "file-token")
    assert path.stat().st_mode & 0o777 == 0o600
    monkeypatch.delenv("DOWNHILL_URL", raising=False)
    monkeypatch.setenv("DOWNHILL_TOKEN", "env-token")
    assert resolve(path=path).url == "http://file" and resolve(path=path).token == "env-token"
    assert resolve("http://arg", "arg-token", path).token == "arg-token"
    path.write_text(json.dumps({"url": "x", "tokn": "y"}))
    with pytest.raises(ConfigError, match="unknown setting 'tokn'"):
        read_config(path)


def test_a_pruned_trial_says_why_and_the_sweep_line_counts_by_state():
    from downhill_client import Sweep
    from downhill_client.cli.sweeps import progress_line, trial_row

    message = "rung 0 (epoch 1): val_loss 1.09 is not in the top 1/3 of 4 trials"
    sweep = Sweep.from_api(
        {"id": 7, "name": "lr", "status": "running", "objective": "val_loss", "unknown": 1,
         "progress": {"running": 1, "complete": 2, "pruned": 1, "failed": 0, "cancelled": 0,
                      "asked": 4, "max_trials": 10, "eta_seconds": 65.0},
         "best": {"number": 2, "state": "complete", "value": 0.2134, "params": {"lr": 0.01}}}
    )  # fmt: skip
    assert progress_line(sweep) == (
        "sweep 7 running · 3/10 trials done (2 complete, 1 pruned, 0 failed, 1 running) · "
        "best val_loss 0.2134 (trial 2) · ETA 0:01:05"
    )
    assert sweep.raw["unknown"] == 1 and not sweep.finished
    pruned = Trial.from_api(
        {"number": 3, "state": "pruned", "value": None, "params": {"learning_rate": 3.2e-05},
         "prune": {"pruner": "asha", "rung": 0, "message": message}, "run": 9}
    )  # fmt: skip
    assert trial_row(pruned) == [3, "pruned", "", "learning_rate=3.2e-05", 9, message]


def test_range_test_suggestions_end_with_the_disagreement_warning():
    from downhill_client.cli.lab import suggestions_text

    test = RangeTest.from_api(
        {"id": 1, "experiment": 2, "status": "succeeded", "stop_reason": "",
         "suggestions": {"steepest": 0.0123, "min_div_10": 0.2, "valley": None,
                         "warning": "the suggestions disagree by 16x"}}
    )  # fmt: skip
    lines = suggestions_text(test)
    assert [line.split()[:2] for line in lines[:2]] == [
        ["steepest", "0.0123"],
        ["min_div_10", "0.2"],
    ]
    assert lines[2] == "warning: the suggestions disagree by 16x" and len(lines) == 3
    assert (
        RangeTest.from_api(
            {"id": 1, "experiment": 2, "status": "queued", "suggestions": None}
        ).suggestions.steepest
        is None
    )
