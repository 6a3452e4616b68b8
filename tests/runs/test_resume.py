"""A cancelled run with a checkpoint goes on as a new run: POST /api/v1/runs/{id}/resume/.
(The worker side, training on from the checkpoint, is in tests/workers/test_tasks.py.)"""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from downhill.runs.checkpoints import resume_checkpoint_path
from downhill.runs.metric_chunks import points_count, series_points
from downhill.runs.models import MetricBlock, MetricChunk, Run, RunEvent
from downhill.runs.services import metrics_record, run_events_record
from workers.contract.tasks import TRAIN_RUN_TASK

pytestmark = pytest.mark.django_db(transaction=True)

S = Run.Status


def cancelled_at(run: Run, step: int, *, written_to: int, checkpoint: bool = True) -> Run:
    """The run as a cancel leaves it: points written up to `written_to`, its checkpoint at
    `step` (the content is the worker's business; only its name is read here)."""
    metrics_record(
        run.id,
        [("train_loss", s, 1.0 / s, 1000.0 + s) for s in range(1, written_to + 1)]
        + [("lr", s, 0.1, 1000.0 + s) for s in range(1, written_to + 1)],
    )
    run_events_record(
        run.id,
        [
            {"type": "warm_restart", "step": 40, "epoch": 2},
            {"type": "requeued", "step": 100, "epoch": 3, "attempt": 2},
            {"type": "best_checkpoint", "step": step + 1, "epoch": 9},
        ],
        2000.0,
    )
    if checkpoint:
        default_storage.save(resume_checkpoint_path(run.id, step), ContentFile(b"weights"))
    Run.objects.filter(pk=run.pk).update(status=S.CANCELLED, step=written_to, epoch=9)
    run.refresh_from_db()
    return run


def test_resume_queues_a_new_run_carrying_the_series_up_to_the_checkpoint(api, run, sent_tasks):
    cancelled_at(run, 300, written_to=310)
    response = api.post(f"/api/v1/runs/{run.id}/resume/")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["resumed_from"], body["resumed_from_step"]) == (
        "queued",
        run.id,
        300,
    )
    assert body["experiment"] == run.experiment_id and body["id"] != run.id
    assert [(t["name"], t["args"]) for t in sent_tasks] == [(TRAIN_RUN_TASK, [body["id"]])]
    for name in ("train_loss", "lr"):
        steps = series_points(body["id"], name).steps.tolist()
        assert steps == list(range(1, 301))  # not the 10 written past the checkpoint
    old = series_points(run.id, "train_loss")
    new = series_points(body["id"], "train_loss")
    assert new.values.tolist() == old.values[:300].tolist()
    assert new.walls.tolist() == old.walls[:300].tolist()
    # The block summaries of the copy read the same points (steps 257-300 is a partial block).
    blocks = MetricBlock.objects.filter(run_id=body["id"], name="train_loss").order_by("block")
    assert [(b.block, b.n, b.last_step, b.lo_step, b.hi_step) for b in blocks] == [
        (0, 256, 256, 256, 1),
        (1, 44, 300, 300, 257),
    ]
    events = RunEvent.objects.filter(run_id=body["id"]).order_by("step", "id")
    assert [(e.type, e.step) for e in events] == [("warm_restart", 40), ("resumed_from", 300)]
    assert events.last().details == {"run": run.id}
    run.refresh_from_db()
    assert run.status == S.CANCELLED  # the cancelled run stays as it was
    assert points_count(run.id, "train_loss") == 310


def test_the_newest_checkpoint_is_the_one_resumed_from(api, run, sent_tasks):
    cancelled_at(run, 120, written_to=200)
    default_storage.save(resume_checkpoint_path(run.id, 200), ContentFile(b"later"))
    response = api.post(f"/api/v1/runs/{run.id}/resume/")
    assert response.json()["resumed_from_step"] == 200


@pytest.mark.parametrize("status", [S.QUEUED, S.RUNNING, S.SUCCEEDED, S.FAILED])
def test_only_a_cancelled_run_can_be_resumed(api, run, status, sent_tasks):
    default_storage.save(resume_checkpoint_path(run.id, 12), ContentFile(b"weights"))
    Run.objects.filter(pk=run.pk).update(status=status)
    response = api.post(f"/api/v1/runs/{run.id}/resume/")
    assert response.status_code == 409
    assert f"Run {run.id} is {status}; only a cancelled run" in response.json()["detail"]
    assert Run.objects.count() == 1 and not sent_tasks


def test_a_second_resume_while_the_first_goes_on_is_refused(api, run, sent_tasks):
    cancelled_at(run, 256, written_to=256)  # on a block's end: every block copied whole
    first = api.post(f"/api/v1/runs/{run.id}/resume/").json()
    second = api.post(f"/api/v1/runs/{run.id}/resume/")

    assert second.status_code == 409
    assert f"being resumed already, as run {first['id']}" in second.json()["detail"]
    assert Run.objects.count() == 2 and len(sent_tasks) == 1
    (block,) = MetricBlock.objects.filter(run_id=first["id"], name="train_loss")
    assert (block.block, block.n, block.lo_step, block.hi_step) == (0, 256, 256, 1)
    Run.objects.filter(pk=first["id"]).update(status=S.FAILED)  # that one ended: go on again
    assert api.post(f"/api/v1/runs/{run.id}/resume/").status_code == 201


def test_a_run_cancelled_before_its_first_checkpoint_cannot_be_resumed(api, run, sent_tasks):
    cancelled_at(run, 30, written_to=30, checkpoint=False)
    response = api.post(f"/api/v1/runs/{run.id}/resume/")
    assert response.status_code == 409
    assert "before it stored a checkpoint" in response.json()["detail"]
    assert Run.objects.count() == 1 and not sent_tasks


def test_resume_counts_against_the_active_run_quota(api, run, settings, sent_tasks):
    cancelled_at(run, 30, written_to=30)
    settings.DOWNHILL_MAX_ACTIVE_RUNS = 1
    Run.objects.create(experiment=run.experiment, epochs=3)  # queued: the one allowed
    response = api.post(f"/api/v1/runs/{run.id}/resume/")
    assert response.status_code == 429
    assert Run.objects.count() == 2 and not sent_tasks
    assert not MetricChunk.objects.exclude(run=run).exists()  # nothing half-copied


def test_another_users_run_cannot_be_resumed(grace, run, sent_tasks):
    cancelled_at(run, 30, written_to=30)
    assert grace.post(f"/api/v1/runs/{run.id}/resume/").status_code == 404
    assert Run.objects.count() == 1


def test_the_run_page_offers_resume_and_the_new_run_says_what_it_continues(
    client, user, run, sent_tasks
):
    cancelled_at(run, 300, written_to=310)
    client.force_login(user)
    page = client.get(f"/runs/{run.id}/").content.decode()
    assert "Resume from step 300" in page
    response = client.post(f"/runs/{run.id}/resume/")
    new_run = Run.objects.exclude(pk=run.pk).get()
    assert response.status_code == 302 and response.url == f"/runs/{new_run.id}/"
    page = client.get(response.url).content.decode()
    assert f'continues <a href="/runs/{run.id}/">#{run.id}</a> from step 300' in page
    assert "Resume from step" not in page  # queued, not cancelled


def test_a_cancelled_run_without_checkpoint_offers_no_resume(client, user, run):
    cancelled_at(run, 30, written_to=30, checkpoint=False)
    client.force_login(user)
    assert "Resume from step" not in client.get(f"/runs/{run.id}/").content.decode()
