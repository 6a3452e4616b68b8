"""Datasets: streamed upload, waiting for the server's reading, list, get, delete."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from .errors import BadInput, DatasetFailed
from .models import Dataset
from .transport import Transport
from .upload import MultipartUpload, Progress

# A large file takes as long as the link needs, so no limit on the whole request; but each
# chunk must go out within a minute (a link or a server that stalls is an error, not a hang)
# and the answer, once the file is sent, must start within ten (the server stores it first).
UPLOAD_TIMEOUT = httpx.Timeout(connect=30.0, read=600.0, write=60.0, pool=30.0)


class Datasets:
    def __init__(self, transport: Transport):
        self._t = transport

    def list(self) -> list[Dataset]:
        return [Dataset.from_api(d) for d in self._t.all_pages("/datasets/")]

    def get(self, dataset_id: int) -> Dataset:
        return Dataset.from_api(self._t.get(f"/datasets/{dataset_id}/"))

    def delete(self, dataset_id: int) -> None:
        self._t.request("DELETE", f"/datasets/{dataset_id}/")

    def upload(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        target: str | None = None,
        wait: bool = True,
        progress: Progress | None = None,
        timeout: float | None = None,
    ) -> Dataset:
        """Send the file in chunks (never whole in memory). With `wait`, return once the
        server has read it (`ready`), or raise DatasetFailed with its reading error."""
        path = Path(path)
        if not path.is_file():
            raise BadInput(
                f"{path}: no such file." if not path.exists() else f"{path} is not a file."
            )
        fields = {k: v for k, v in {"name": name, "target": target}.items() if v}
        body = MultipartUpload(path, fields, progress)
        data = self._t.post(
            "/datasets/", content=body, headers=body.headers, timeout=UPLOAD_TIMEOUT
        )
        dataset = Dataset.from_api(data)
        return self.wait(dataset.id, timeout=timeout) if wait else dataset

    def wait(self, dataset_id: int, *, timeout: float | None = None, interval: float = 1.0):
        """Poll until the dataset is no longer `processing`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            dataset = self.get(dataset_id)
            if dataset.status == "failed":
                raise DatasetFailed(f"dataset {dataset.id} ({dataset.name}): {dataset.error}")
            if dataset.status != "processing":
                return dataset
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"dataset {dataset_id} is still processing after {timeout} s")
            time.sleep(interval)
