"""The run page's predict form: CSV rows (pasted, or an uploaded file) in, the API's
predictions (downhill.runs.predict.run_predict) out as a table and as CSV; a bad row is
named as POST /predict/ names it (`rows[3].petal_length: ... is not a number.`)."""

from __future__ import annotations

import csv
import io

from django.core.exceptions import ValidationError

from downhill.runs.models import Run
from downhill.runs.predict import ModelNotReady, run_predict

MAX_UPLOAD_BYTES = 2 * 2**20


class FormError(Exception):
    """The form's input cannot be read; the message says why."""


def csv_header(run: Run) -> str:
    """The header line a run's predict form expects: its feature columns, in order."""
    features = (run.inference or {}).get("preprocessing", {}).get("features", [])
    return ",".join(feature["name"] for feature in features)


def is_image_run(run: Run) -> bool:
    features = (run.inference or {}).get("preprocessing", {}).get("features", [])
    return any(feature["kind"] == "image" for feature in features)


def form_text(post, files) -> str:
    """The CSV text: the uploaded file's when one was sent, else the pasted rows."""
    upload = files.get("file")
    if upload is None:
        return (post.get("rows") or "").strip()
    if upload.size > MAX_UPLOAD_BYTES:
        raise FormError(f"The file is over {MAX_UPLOAD_BYTES // 2**20} MB; send fewer rows.")
    try:
        return upload.read().decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        raise FormError("The file is not UTF-8 text; save it as CSV (UTF-8).") from None


def parse_rows(text: str) -> tuple[list[str], list[dict]]:
    """(header, rows) of CSV text with a header line; empty cells stay "" (a missing value)."""
    if not text:
        raise FormError("Paste CSV rows (with the header line) or choose a CSV file.")
    reader = csv.reader(io.StringIO(text))
    header = [name.strip() for name in next(reader)]
    rows = []
    for line, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            raise FormError(f"Line {line} has {len(values)} values; the header has {len(header)}.")
        rows.append(dict(zip(header, values, strict=True)))
    if not rows:
        raise FormError("The CSV has a header but no rows.")
    return header, rows


def predict_table(run: Run, text: str) -> dict:
    """{"columns", "rows"} of inputs and predictions, or {"errors": [(name, message)]}."""
    try:
        header, rows = parse_rows(text)
        predictions = run_predict(run, rows)
    except (FormError, ModelNotReady) as exc:
        return {"errors": [("", str(exc))]}
    except ValidationError as exc:
        return {"errors": [(name, " ".join(messages))
                           for name, messages in exc.message_dict.items()]}  # fmt: skip
    out_columns = _prediction_columns(predictions[0])
    table = [
        [*(row.get(name, "") for name in header), *_cells(p)]
        for row, p in zip(rows, predictions, strict=True)
    ]
    return {"columns": [*header, *out_columns], "inputs": len(header), "rows": table}


def _prediction_columns(prediction: dict) -> list[str]:
    if "value" in prediction:
        return ["prediction"]
    scores = prediction.get("probabilities") or prediction.get("scores")
    kind = "probability" if "probabilities" in prediction else "score"
    return ["prediction", *(f"{kind}_{label}" for label in scores)]


def _cells(prediction: dict) -> list:
    if "value" in prediction:
        return [f"{prediction['value']:.6g}"]
    scores = prediction.get("probabilities") or prediction.get("scores")
    return [prediction["label"], *(f"{v:.6g}" for v in scores.values())]


def table_csv(table: dict) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table["columns"])
    writer.writerows(table["rows"])
    return buffer.getvalue()
