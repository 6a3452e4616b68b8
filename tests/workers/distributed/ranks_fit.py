"""Run by torchrun from test_engine_ranks.py: each rank trains scenario()'s run on its share of
every global batch; rank 0 saves the final weights and the step losses to argv[1]."""

import sys

import torch

from tests.workers.distributed.scenario import scenario
from tests.workers.test_engine import Recorder
from workers.engine import fit
from workers.engine.distributed import join_from_environment, leave


def main(path: str) -> None:
    ranks, device = join_from_environment()
    config, data = scenario()
    recorder = Recorder()  # the step losses, as a worker's MetricsWriter receives them
    result = fit(config, data, [recorder], device=device, ranks=ranks)
    if ranks.leader:
        torch.save({"model": result.model.state_dict(), "points": recorder.points}, path)
    leave()


if __name__ == "__main__":
    main(sys.argv[1])
