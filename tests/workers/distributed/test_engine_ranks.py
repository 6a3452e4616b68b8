"""Two processes with gloo train the run one process would: the same weights (1e-6) and the
same step losses, each rank on its share of the same global batches."""

import subprocess
import sys
from pathlib import Path

import torch

from tests.workers.distributed.scenario import scenario
from tests.workers.test_engine import CPU, Recorder
from workers.engine import fit

ROOT = Path(__file__).resolve().parents[3]


def test_two_gloo_ranks_end_with_the_weights_and_losses_of_one_process(tmp_path):
    out = tmp_path / "ranks.pt"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
               "-m", "tests.workers.distributed.ranks_fit", str(out)]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    ranks = torch.load(out, weights_only=False)

    config, data = scenario()
    recorder = Recorder()
    single = fit({**config, "distributed": None}, data, [recorder], device=CPU)

    weights = single.model.state_dict()
    assert weights.keys() == ranks["model"].keys()
    for name, value in weights.items():
        torch.testing.assert_close(ranks["model"][name], value, atol=1e-6, rtol=0, msg=name)
    assert [p[0] for p in ranks["points"]] == [p[0] for p in recorder.points] == list(range(1, 16))
    torch.testing.assert_close(
        torch.tensor([p[1] for p in ranks["points"]]),
        torch.tensor([p[1] for p in recorder.points]),
        atol=1e-6,
        rtol=1e-6,
    )
    # The run moved: the comparison is not of two untrained models.
    assert recorder.points[-1][1] < recorder.points[0][1] / 2
