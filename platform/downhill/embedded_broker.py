"""The embedded broker: kombu's filesystem transport, made safe against a reader that sees a
file half written.

kombu writes a message under its final name and then fills it; a worker polling the folder can
take it in between and read an empty or partial file, and the worker dies with
`Unrecoverable error: JSONDecodeError` (it happened under `make run`, while beat sent a sweep).
Here every message is written under a name no reader looks at, flushed, then renamed to its
final name in one step (`os.replace` within one folder is atomic): a reader sees no file or a
whole one; a message is taken by renaming it into the processed folder, which exactly one
reader can do. The exchange tables in the control folder are rewritten the same way, their
read-modify-write serialised by a lock file beside them.

Selected by settings/celery.py (CELERY_BROKER_TRANSPORT) whenever the broker URL is
`filesystem://`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from queue import Empty
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.json import dumps, loads

# Neither ends in `.<queue>.msg`, so kombu's _get, _size and _purge never match them.
TEMP_PREFIX = ".writing-"


def write_atomically(path: str, data: bytes) -> None:
    """Write `data` to `path` so that a reader finds either no file or all of it."""
    folder, name = os.path.split(path)
    temp = os.path.join(folder, f"{TEMP_PREFIX}{uuid.uuid4().hex}-{name}.tmp")
    try:
        with open(temp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.remove(temp)
        raise ChannelError(f"Cannot add file {path!r} to directory") from exc


@contextlib.contextmanager
def locked(path: str):
    """An exclusive lock on `path`.lock, held for the block."""
    with open(f"{path}.lock", "ab") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        write_atomically(os.path.join(self.data_folder_out, name), dumps(payload).encode())

    def _get(self, queue):
        """Take the oldest message of `queue`: renamed into the processed folder (one step on one
        filesystem, so of two workers exactly one gets it; kombu's move to the system's temp
        folder copies across filesystems, and two readers could read one half-copied file)."""
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != f"{queue}.msg":  # kombu's own test; never a temp name
                continue
            taken = os.path.join(self.processed_folder, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), taken)
            except FileNotFoundError:
                continue  # another worker took it
            try:
                with open(taken, "rb") as f:
                    payload = f.read()
                if not self.store_processed:
                    os.remove(taken)
            except OSError as exc:
                raise ChannelError(f"Cannot read file {taken!r} from queue.") from exc
            return loads(payload.decode())
        raise Empty()

    def get_table(self, exchange):
        file = self._exchange_file(exchange)
        try:
            table = loads(file.read_bytes().decode())
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ChannelError(f"Cannot open {file}") from exc
        return [filesystem.exchange_queue_t(*q) for q in table]

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._update_table(
            exchange, lambda queues: queues if binding in queues else [binding, *queues]
        )

    def _delete(self, queue, exchange, routing_key, pattern, *args, **kwargs):
        filesystem.virtual.Channel._delete(
            self, queue, exchange, routing_key, pattern, *args, **kwargs
        )
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._update_table(exchange, lambda queues: [q for q in queues if q != binding])

    def _update_table(self, exchange, change) -> None:
        """Replace `exchange`'s table by change(table), one process at a time."""
        file = self._exchange_file(exchange)
        self.control_folder.mkdir(exist_ok=True)
        with locked(str(file)):
            queues = self.get_table(exchange)
            updated = change(queues)
            if updated != queues or not file.exists():
                write_atomically(str(file), dumps(updated).encode())


class Transport(filesystem.Transport):
    Channel = Channel
