"""Every page at 390 and 1440 px in a real browser: nothing overflows the page, no status badge
is cut off at the edge of the card its table scrolls in, numbers carry thousands separators the
same way everywhere, the events card lists every event in words, and the error pages are
styled with a way back. Runs, points and events are written directly (no worker needed)."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from downhill.datasets.models import Dataset
from downhill.runs.checkpoints import resume_checkpoint_path
from downhill.runs.models import Run, RunEvent
from downhill.runs.services import run_transition
from tests.e2e.test_browser import screenshot
from tests.e2e.test_browser_compare import ada, dataset, finished_run  # noqa: F401 (fixtures)
from tests.e2e.test_browser_workflow import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
WIDTHS = (1440, 390)

# Per badge in a scrolling table: how far it sticks out of the card that clips it (0: fits).
BADGES_CUT = """() => [...document.querySelectorAll('.table-wrap .badge')]
  .filter((badge) => badge.offsetParent !== null)
  .map((badge) => {
    const wrap = badge.closest('.table-wrap').getBoundingClientRect();
    const box = badge.getBoundingClientRect();
    return Math.max(0, box.right - wrap.right, wrap.left - box.left);
  })
  .filter((cut) => cut > 0.5)"""


def fits(page, name: str, width: int) -> None:
    page.wait_for_load_state("networkidle")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name} at {width} px is {overflow} px too wide"
    cut = page.evaluate(BADGES_CUT)
    assert not cut, f"{name} at {width} px: a status badge is cut by {cut} px"
    screenshot(page, f"layout-{name}-{width}")


def events_of(of: Run, steps: list[int], types: list[str], **details) -> None:
    for step, kind in zip(steps, types, strict=True):
        RunEvent.objects.create(
            run=of, step=step, epoch=1 + step // 800, type=kind, details=details, wall_time=0.0
        )


@pytest.fixture
def pages(ada, dataset):  # noqa: F811 (the fixtures imported above)
    """A long run (2,400 steps, 13 new-best events, a resume from another run), a short one, a
    failed one and a cancelled one with a checkpoint at step 32,640, on a 2,400-row dataset."""
    Dataset.objects.filter(pk=dataset.id).update(n_rows=2400)
    long = finished_run(
        ada, dataset, 2400, batch_size=1, name="a long experiment name for the table"
    )
    short = finished_run(ada, dataset, 30, batch_size="full", name="full batch")
    events_of(
        long, list(range(100, 1400, 100)), ["best_checkpoint"] * 13, monitor="val_loss", value=0.5
    )
    events_of(long, [1500, 1500], ["resumed_from", "resumed"], run=short.id)
    failed = finished_run(ada, dataset, 10, batch_size=4, name="failed run")
    Run.objects.filter(pk=failed.id).update(status=Run.Status.FAILED, error="loss became NaN")
    cancelled = finished_run(ada, dataset, 10, batch_size=2, name="cancelled run")
    Run.objects.filter(pk=cancelled.id).update(status=Run.Status.RUNNING)
    run_transition(cancelled.id, Run.Status.CANCELLED)
    default_storage.save(resume_checkpoint_path(cancelled.id, 32640), ContentFile(b"not torch"))
    return {
        "long": long,
        "short": short,
        "failed": failed,
        "cancelled": cancelled,
        "sweep": finished_sweep(ada, dataset),
    }


def finished_sweep(owner, of_dataset):
    """A random search of 4 trials over optimizer and learning rate whose runs the test
    finishes itself, each with a validation loss per epoch."""
    from downhill.runs.services import metrics_record
    from downhill.sweeps.services import sweep_advance, sweep_create

    sweep = sweep_create(
        owner=owner,
        data={
            "base": {"dataset": of_dataset.id, "epochs": 2, "seed": 1},
            "space": {
                "optimizer": {"type": "categorical", "values": ["sgd", "adam"]},
                "learning_rate": {"type": "float", "low": 1e-4, "high": 0.5, "log": True},
            },
            "method": "random",
            "max_trials": 4,
            "max_concurrent": 4,
            "seed": 2,
        },
    )
    for i, trial in enumerate(sweep.trials.order_by("number")):
        run_transition(trial.run_id, Run.Status.RUNNING)
        metrics_record(
            trial.run_id,
            [("val_loss", 8, 1.0 - i / 10, 1.7e9), ("val_loss", 16, 0.9 - i / 10, 1.7e9)],
        )
        run_transition(trial.run_id, Run.Status.SUCCEEDED, summary={"best_val_loss": 0.9 - i / 10})
    sweep_advance(sweep.id)
    return sweep


def test_every_page_fits_at_390_and_1440_px(live_server, browser_page, pages, dataset):  # noqa: F811
    page, problems = browser_page
    sign_in(page, live_server.url)
    long, short = pages["long"], pages["short"]
    urls = {
        "runs": "/",
        "run": f"/runs/{long.id}/",
        "cancelled-run": f"/runs/{pages['cancelled'].id}/",
        "compare": f"/runs/compare/?ids={long.id},{short.id},{pages['failed'].id}",
        "datasets": "/datasets/",
        "dataset": f"/datasets/{dataset.id}/",
        "experiment-form": "/experiments/new/",
        "sweep": f"/sweeps/{pages['sweep'].id}/",
    }
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for name, url in urls.items():
            page.goto(f"{live_server.url}{url}")
            fits(page, name, width)
    assert not problems, problems


def test_numbers_read_with_thousands_separators(live_server, browser_page, pages, dataset):  # noqa: F811
    page, problems = browser_page
    sign_in(page, live_server.url)

    page.goto(f"{live_server.url}/runs/{pages['long'].id}/")
    page.wait_for_selector("[data-events-list] li")
    assert "step 2,400 of 2,400" in page.inner_text('[data-field="progress-text"]')
    page.goto(f"{live_server.url}/runs/{pages['cancelled'].id}/")
    assert page.is_visible("text=Resume from step 32,640")
    page.goto(f"{live_server.url}/datasets/")
    assert "2,400" in page.inner_text(f"tr:has(a[href='/datasets/{dataset.id}/'])")
    page.goto(f"{live_server.url}/datasets/{dataset.id}/")
    assert "2,400 rows" in page.inner_text("main")
    page.goto(f"{live_server.url}/experiments/new/")
    assert "2,400 rows" in page.inner_text("select[name=dataset]")
    assert not problems, problems


def test_events_card_lists_every_event_in_words_and_a_resume_once(live_server, browser_page, pages):
    page, problems = browser_page
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/runs/{pages['long'].id}/")
    page.wait_for_selector("[data-events-list] li")
    items = [
        " ".join(item.split()) for item in page.locator("[data-events-list] li").all_inner_texts()
    ]
    assert sum("New best model" in item for item in items) == 13, items
    resumes = [item for item in items if "resume" in item.lower() or "went on" in item.lower()]
    assert resumes == [
        f"step 1,500 · epoch 2 Went on from run #{pages['short'].id} from its checkpoint"
    ], items
    assert len(items) == 14
    body = page.inner_text("body") + page.inner_html("svg")
    assert "resumed_from" not in body and "best_checkpoint" not in body
    marks = page.eval_on_selector_all(
        "#chart-loss text.chart__event-label", "(ts) => ts.map((t) => t.textContent)"
    )
    assert marks == ["resumed"], marks  # new-best events are listed, not drawn as a fence
    assert not problems, problems


@pytest.mark.parametrize("width", WIDTHS)
def test_error_pages_are_styled_with_a_way_back(live_server, browser_page, ada, settings, width):  # noqa: F811
    page, problems = browser_page
    settings.ROOT_URLCONF = "tests.e2e.failing_urls"  # the project's URLs and one that fails
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server.url)
    for url, status in (("/runs/987654/", 404), ("/fail/", 500)):
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == status
        assert page.is_visible(f"[data-error-page='{status}'] a.button[href='/']")
        assert page.evaluate("getComputedStyle(document.body).fontFamily") != "Times New Roman"
        fits(page, f"error-{status}", width)
        page.click(f"[data-error-page='{status}'] a[href='/']")
        page.wait_for_url(f"{live_server.url}/")
    problems = [p for p in problems if "Failed to load resource" not in p]  # the 404 and 500
    assert not problems, problems
