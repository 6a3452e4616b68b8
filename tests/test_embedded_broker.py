"""The embedded broker under stress: several processes sending and several reading one queue
at once, every message read exactly once and whole (kombu's own transport let a reader take a
file still being written: `JSONDecodeError`, and the worker died)."""

import json
import multiprocessing
import os
import queue as queue_module

from kombu import Connection

from downhill.embedded_broker import TEMP_PREFIX

WRITERS, READERS, PER_WRITER = 4, 4, 300
PAYLOAD = "x" * 20_000  # large enough that a write is not one syscall's worth of luck


def connection(root) -> Connection:
    return Connection(
        "filesystem://",
        transport="downhill.embedded_broker:Transport",
        transport_options={
            "data_folder_in": str(root / "queue"),
            "data_folder_out": str(root / "queue"),
            "processed_folder": str(root / "processed"),
            "control_folder": str(root / "control"),
            "polling_interval": 0.01,
        },
    )


def send(root, writer: int) -> None:
    with connection(root) as conn:
        q = conn.SimpleQueue("stress")
        for i in range(PER_WRITER):
            q.put({"id": f"{writer}-{i}", "pad": PAYLOAD})


def read(root, out, stop) -> None:
    seen, errors = [], []
    with connection(root) as conn:
        q = conn.SimpleQueue("stress")
        while True:
            try:
                message = q.get(block=True, timeout=0.2)
            except queue_module.Empty:
                if stop.is_set():
                    break
                continue
            except Exception as exc:  # what killed the worker: report it, keep reading
                errors.append(repr(exc))
                continue
            body = message.payload
            if body.get("pad") != PAYLOAD:
                errors.append(f"partial body {json.dumps(body)[:80]}")
            seen.append(body["id"])
            message.ack()
    out.put((seen, errors))


def test_many_processes_send_and_read_every_message_exactly_once_and_whole(tmp_path):
    for sub in ("queue", "processed", "control"):
        (tmp_path / sub).mkdir()
    ctx = multiprocessing.get_context("fork")
    out, stop = ctx.Queue(), ctx.Event()
    readers = [ctx.Process(target=read, args=(tmp_path, out, stop)) for _ in range(READERS)]
    writers = [ctx.Process(target=send, args=(tmp_path, w)) for w in range(WRITERS)]
    for p in readers + writers:
        p.start()
    for p in writers:
        p.join(120)
        assert p.exitcode == 0
    stop.set()
    results = [out.get(timeout=120) for _ in readers]
    for p in readers:
        p.join(30)
    seen = [i for ids, _ in results for i in ids]
    errors = [e for _, errs in results for e in errs]
    assert errors == []
    assert len(seen) == WRITERS * PER_WRITER
    assert len(set(seen)) == len(seen), "a message was read twice"
    assert not [n for n in os.listdir(tmp_path / "queue") if not n.startswith(TEMP_PREFIX)]
    assert not [n for n in os.listdir(tmp_path / "queue") if n.startswith(TEMP_PREFIX)]
