"""The GPU path, measured in one command on a machine with a CUDA device.

    .venv/bin/python bench/gpu/run.py [--quick] [--device cpu] [--processes 4]

1. `bench/engine/run.py` at batch 32 and at batch 1024 (it picks CUDA when there is one): the
   engine with its metric callback against the bare loop, data resident on the device; gate
   0.95 each.
2. The bare loop's samples/s in float32 and under bf16 autocast, same data on the device.
3. The same loop with the model through torch.compile: its speed-up over eager (the first,
   compiling epoch is reported apart).
4. N worker processes sharing the device, each training the bare loop for the same seconds:
   their total samples/s against one process alone.

--device cpu runs parts 2-4 on the CPU (a smoke test of the script; figures mean nothing).
Exit status 1 when part 1 misses its gate. Results go to bench/gpu/results/<device>.json;
the engine's own to bench/engine/results/cuda*.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
from host import host_facts  # noqa: E402  (bench/host.py)

RESULTS = Path(__file__).resolve().parent / "results"
ROWS, FEATURES, CLASSES = 200_000, 32, 4
CPU_ROWS = 10_000  # --device cpu: a smoke test, kept short


def data(device: str):
    import torch

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(ROWS if device == "cuda" else CPU_ROWS, FEATURES, generator=generator)
    y = (x @ torch.randn(FEATURES, CLASSES, generator=generator)).argmax(dim=1)
    return x.to(device), y.to(device)


def model(device: str):
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(FEATURES, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, CLASSES)
    ).to(device)


def train(net, x, y, batch: int, seconds: float, bf16: bool = False) -> float:
    """The bare loop for about `seconds`, in whole epochs and at least one; returns samples/s."""
    import torch
    from torch.nn import functional as F

    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    device_type = x.device.type
    samples, started = 0, time.perf_counter()
    while samples == 0 or time.perf_counter() - started < seconds:
        order = torch.randperm(len(x), device=x.device)
        for start in range(0, len(x), batch):
            index = order[start : start + batch]
            with torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
                loss = F.cross_entropy(net(x[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        samples += len(x)
        if device_type == "cuda":
            torch.cuda.synchronize()
    return samples / (time.perf_counter() - started)


def precision_and_compile(device: str, batch: int, seconds: float) -> dict:
    import torch

    x, y = data(device)
    out = {"fp32": train(model(device), x, y, batch, seconds)}
    out["bf16_autocast"] = train(model(device), x, y, batch, seconds, bf16=True)
    out["bf16_speedup"] = round(out["bf16_autocast"] / out["fp32"], 3)
    compiled = torch.compile(model(device))
    started = time.perf_counter()
    try:
        train(compiled, x, y, batch, 0.0)  # one epoch: the compilation
    except Exception as exc:  # no compiler toolchain here, say: recorded, not fatal
        out["compile_error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
        return _rounded(out)
    out["compile_first_epoch_s"] = round(time.perf_counter() - started, 2)
    out["compiled"] = train(compiled, x, y, batch, seconds)
    out["compile_speedup"] = round(out["compiled"] / out["fp32"], 3)
    return _rounded(out)


def _rounded(out: dict) -> dict:
    return {k: (round(v) if isinstance(v, float) and v > 100 else v) for k, v in out.items()}


def _one_process(device: str, batch: int, seconds: float, queue) -> None:
    x, y = data(device)
    train(model(device), x, y, batch, 1.0)  # warm-up
    queue.put(train(model(device), x, y, batch, seconds))


def shared_device(device: str, batch: int, seconds: float, processes: int) -> dict:
    ctx = multiprocessing.get_context("spawn")  # CUDA cannot be forked
    totals = {}
    for n in (1, processes):
        queue = ctx.Queue()
        procs = [
            ctx.Process(target=_one_process, args=(device, batch, seconds, queue)) for _ in range(n)
        ]
        for proc in procs:
            proc.start()
        speeds = [queue.get() for _ in procs]
        for proc in procs:
            proc.join()
        totals[n] = round(sum(speeds))
    return {
        "batch": batch, "processes": processes, "one_process": totals[1],
        "all_processes_total": totals[processes],
        "total_over_one": round(totals[processes] / totals[1], 2),
    }  # fmt: skip


def engine_gates(quick: bool) -> list[dict]:
    runs = []
    for batch in (32, 1024):
        command = [sys.executable, str(ROOT / "bench/engine/run.py"), "--batch-size", str(batch)]
        code = subprocess.call(command + (["--quick"] if quick else []))
        runs.append({"batch": batch, "passed": code == 0})
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2-second measures")
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--processes", type=int, default=4, help="worker processes per device")
    args = parser.parse_args()
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit(
            "no CUDA device here: this script measures the GPU path (--device cpu: smoke test)"
        )
    seconds = 2.0 if args.quick else 10.0
    result = {"host": host_facts(), "torch": torch.__version__}
    if args.device == "cuda":
        result["gpu"] = torch.cuda.get_device_name(0)
        result["engine"] = engine_gates(args.quick)
    for batch in (32, 1024):
        result[f"batch_{batch}"] = precision_and_compile(args.device, batch, seconds)
        print(f"batch {batch}: {result[f'batch_{batch}']}", flush=True)
    result["shared"] = shared_device(args.device, 32, seconds, args.processes)
    print(f"{args.processes} processes on one device: {result['shared']}", flush=True)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{'quick-' if args.quick else ''}{args.device}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"written: {path.relative_to(ROOT)}")
    return 0 if all(run["passed"] for run in result.get("engine", [])) else 1


if __name__ == "__main__":
    sys.exit(main())
