"""One run trained by several processes (ranks) with torch.distributed: DDP over gloo on CPUs,
NCCL on GPUs. The Trainer takes a `Ranks` and is otherwise the same loop.

How a global batch is split: every rank draws the same shuffled order (same seed, same
generator), cuts the same global batches from it, and takes the rows at positions rank,
rank + world, rank + 2·world, ... of each (DistributedSampler's stride, applied per batch). Each
rank's loss is its rows' mean scaled by rows · world / batch rows, so DDP's gradient average is
the gradient of the global batch's mean loss: the update one process would make on the whole
batch. The train_loss reported is the global batch's mean loss (the scaled losses summed over
ranks, divided by world). Dropout masks and batch-norm statistics are drawn per rank, so a
model with dropout or batch norm trains equivalently, not identically.

Collectives happen at points every rank reaches at the same step: every SYNC_STEPS steps and at
each epoch's end. There the step losses are summed over ranks and rank 0's stop request (a
cancel, a hand-on, a pruned trial: only rank 0 runs the worker's callbacks) becomes every rank's.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from .callbacks import Stop, TrainState

# Steps between two agreements of the ranks (losses and stop requests). Each is one small
# all-reduce and a host sync; at ~1 ms a step on the CPU that is ~60 a second, and a cancel
# reaches every rank within SYNC_STEPS steps.
SYNC_STEPS = 16

_STOPS = (None, *Stop)  # a stop request as a number every rank can receive


@dataclass(frozen=True)
class Ranks:
    """This process's place among the run's processes."""

    rank: int
    world: int
    local_rank: int

    @property
    def leader(self) -> bool:
        """Rank 0 alone writes metrics, events and checkpoints."""
        return self.rank == 0

    def shard(self, batch: torch.Tensor) -> torch.Tensor:
        """This rank's rows of a global batch (row indices): every world-th from its rank on."""
        return batch[self.rank :: self.world]

    def loss_weight(self, rows: int, batch_rows: int) -> float:
        """The factor that turns this rank's mean loss into its share of the global mean, as
        DDP averages gradients over the ranks."""
        return rows * self.world / batch_rows

    def sum_losses(self, losses: torch.Tensor) -> torch.Tensor:
        """The global batches' mean losses from the ranks' scaled ones (a collective)."""
        dist.all_reduce(losses, op=dist.ReduceOp.SUM)
        return losses / self.world

    def agree_stop(self, state: TrainState, device: torch.device) -> None:
        """Rank 0's stop request becomes every rank's (a collective)."""
        code = torch.tensor([_STOPS.index(state.stop)], device=device)
        dist.broadcast(code, src=0)
        stop = _STOPS[int(code.item())]
        if stop is not None and state.stop is None:
            state.request_stop(stop, "stopped by rank 0")


def join_from_environment() -> tuple[Ranks, torch.device] | None:
    """Join the process group torchrun set up (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR in
    the environment), on this rank's GPU or the CPU. None outside torchrun."""
    if "RANK" not in os.environ or int(os.environ.get("WORLD_SIZE", "1")) < 2:
        return None
    ranks = Ranks(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]),
                  int(os.environ.get("LOCAL_RANK", "0")))  # fmt: skip
    if torch.cuda.is_available():
        device = torch.device("cuda", ranks.local_rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
    else:
        device = torch.device("cpu")
        dist.init_process_group("gloo")
    return ranks, device


def leave() -> None:
    """Leave the process group. What still holds it (DDP's wrapper and its reducer, in
    reference cycles after fit) is collected first, while the interpreter is whole: left to
    the interpreter's exit, gloo's threads now and then aborted the rank ('terminate called
    without an active exception', SIGABRT after the run had finished; seen twice in a day of
    tests/workers/distributed, not reproduced in 64 runs since)."""
    if dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()
