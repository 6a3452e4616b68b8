"""REST API v1. Views parse input, call one service or selector, and shape the output."""

from __future__ import annotations

from django.db import connection
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import (
    action,
    api_view,
    authentication_classes,
    permission_classes,
)
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from downhill.datasets.models import Dataset
from downhill.datasets.receiving import ReceivedUpload, StreamedUpload, dataset_received, streams
from downhill.datasets.selectors import PREVIEW_MAX_ROWS, dataset_preview, datasets_visible_to
from downhill.datasets.services import (
    DatasetInUse,
    UploadTooLarge,
    check_upload_size,
    dataset_create,
    dataset_delete,
)
from downhill.experiments.models import Experiment
from downhill.experiments.selectors import experiments_visible_to
from downhill.experiments.services import experiment_create, experiment_preview
from downhill.runs.axes import AXES, series_on_axis
from downhill.runs.deletion import RunInUse, experiment_delete, run_delete
from downhill.runs.downloads import DOWNLOAD_NAMES, NotDownloadable, run_download
from downhill.runs.metadata import run_update_metadata, runs_matching
from downhill.runs.metrics_csv import CSV_AXES, CSV_FORMATS, metrics_csv
from downhill.runs.models import Run
from downhill.runs.predict import MAX_PREDICT_ROWS, ModelNotReady, run_predict
from downhill.runs.selectors import (
    DEFAULT_MAX_POINTS,
    LAST_STEP,
    MAX_MAX_POINTS,
    run_events,
    run_metric_names,
    run_metrics_series,
    runs_visible_to,
)
from downhill.runs.services import (
    AlreadyFinished,
    NotResumable,
    run_queue,
    run_request_cancel,
    run_resume,
)

from .health import broker_reachable
from .parsers import FormParser, JSONParser, MultiPartParser, refuse_unstorable_text
from .schema import error_response
from .serializers import (
    DatasetSerializer,
    DatasetUploadSerializer,
    ExperimentConfigSerializer,
    ExperimentSerializer,
    RunMetadataSerializer,
    RunSerializer,
)

_HEALTH = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(["ok", "degraded"]),
        "database": serializers.CharField(),
        "broker": serializers.CharField(),
    },
)


@extend_schema(responses={200: _HEALTH, 503: _HEALTH})
@api_view(["GET"])
@authentication_classes([])  # what monitoring polls: credentials, even broken ones, play no part
@permission_classes([AllowAny])
def health(request):
    """Reachability of the database and the broker; 200 when both answer, else 503."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception as exc:  # report, never raise: this is what monitoring polls
        database = f"unreachable: {exc.__class__.__name__}"
    broker = broker_reachable()
    healthy = database == "ok" and broker == "ok"
    return Response(
        {"status": "ok" if healthy else "degraded", "database": database, "broker": broker},
        status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE,
    )


RUN_QUOTA = error_response(
    "You have DOWNHILL_MAX_ACTIVE_RUNS runs queued or running already; wait for one or cancel one."
)


def _uploader(request):
    """Who uploads, when the upload's first byte is read: DRF's user once authentication ran,
    else the session's (its CSRF check reads the form during authentication); None if neither
    is signed in."""
    for user in (getattr(request, "_user", None), getattr(request._request, "user", None)):
        if user is not None and user.is_authenticated:
            return user
    return None


class DatasetViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = DatasetSerializer
    parser_classes = [MultiPartParser, FormParser]
    streamed: StreamedUpload | None = None

    def initial(self, request, *args, **kwargs):
        # Before authentication: a session's CSRF check may read the form (and the file).
        if self.action == "create" and streams(request):
            self.streamed = StreamedUpload(request._request, owner=lambda: _uploader(request))
            handlers = request._request.upload_handlers
            handlers.insert(0, self.streamed)
            for handler in handlers:
                handler.chunk_size = StreamedUpload.chunk_size
        super().initial(request, *args, **kwargs)

    def dispatch(self, request, *args, **kwargs):
        """A streamed upload's dataset stays only if the request answers with it."""
        response = None
        try:
            response = super().dispatch(request, *args, **kwargs)
            return response
        finally:
            stored = self.streamed and self.streamed.dataset
            answered = response is not None and response.status_code == 201
            if stored and not (answered and response.data.get("id") == stored.id):
                self.streamed.abandon()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return Dataset.objects.none()
        return datasets_visible_to(self.request.user)

    @extend_schema(
        request={"multipart/form-data": DatasetUploadSerializer},
        responses={
            201: DatasetSerializer,
            413: error_response("The file is over this server's upload limit."),
        },
    )
    def create(self, request):
        try:
            # Refused before the body is read when the client says how large it is.
            check_upload_size(int(request.META.get("CONTENT_LENGTH") or 0) or None)
            upload = request.FILES.get("file")
            if upload is None:
                raise ValidationError(
                    {
                        "file": [
                            "is required: send the dataset (a CSV, a Parquet file, an NPZ or a "
                            "ZIP of images) as multipart field 'file'."
                        ]
                    }
                )
            # request.POST, not request.data: a file sent as `name` must not pass as text.
            fields = {
                "name": request.POST.get("name", ""),
                "target": request.POST.get("target", ""),
            }
            if isinstance(upload, ReceivedUpload):  # stored as it arrived, read meanwhile
                dataset = dataset_received(upload=upload, **fields)
            else:
                dataset = dataset_create(owner=request.user, file=upload, **fields)
        except UploadTooLarge as exc:
            return Response(
                {"detail": f"file: {exc}", "errors": {"file": [str(exc)]}},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        return Response(DatasetSerializer(dataset).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter("rows", int, description=f"1 to {PREVIEW_MAX_ROWS}, default 20")
        ],
        responses=inline_serializer(
            "DatasetPreview", {"columns": serializers.ListField(), "rows": serializers.ListField()}
        ),
    )
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        """The column names and the first rows, as text (an image: its file in the ZIP)."""
        n_rows = _int_param(request.query_params, "rows", 1, default=20, maximum=PREVIEW_MAX_ROWS)
        return Response(dataset_preview(self.get_object(), n_rows))

    @extend_schema(
        responses={
            204: None,
            409: error_response("Experiments use the dataset; delete those first."),
        }
    )
    def destroy(self, request, pk=None):
        try:
            dataset_delete(dataset=self.get_object())
        except DatasetInUse as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ExperimentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ExperimentSerializer
    parser_classes = [JSONParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Experiment.objects.none()
        return experiments_visible_to(self.request.user)

    @extend_schema(
        request=ExperimentConfigSerializer,
        responses={201: ExperimentSerializer, 429: RUN_QUOTA},
        description="Every default is filled in and echoed; unknown keys and bad values are refused with 400.",
    )
    def create(self, request):
        experiment = experiment_create(owner=request.user, data=request.data)
        return Response(self._shape(experiment), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ExperimentConfigSerializer,
        responses=inline_serializer(
            "ExperimentPreview",
            {
                "config": serializers.DictField(),
                "epoch_steps": serializers.ListField(child=serializers.IntegerField()),
                "total_steps": serializers.IntegerField(),
                "lr": serializers.DictField(),
                "resolved": serializers.DictField(child=serializers.CharField()),
            },
        ),
        description="Validate a config and plot its learning rate per step (at most 2000 points), "
        "creating nothing: what the experiment form shows before launch. `resolved` says in words "
        "what unset settings that follow the data resolved to (`epochs`).",
    )
    @action(detail=False, methods=["post"])
    def preview(self, request):
        return Response(experiment_preview(owner=request.user, data=request.data))

    @extend_schema(request=None, responses={201: RunSerializer, 429: RUN_QUOTA})
    @action(detail=True, methods=["post"])
    def runs(self, request, pk=None):
        """Queue another run of the same config."""
        run = run_queue(experiment=self.get_object())
        return Response(RunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={204: None, 409: error_response("A run of it is queued or running.")},
        description="Delete the experiment and all its runs, with their points and stored "
        "files (checkpoints, models); its dataset can be deleted afterwards.",
    )
    def destroy(self, request, pk=None):
        return _deleted(experiment_delete, experiment=self.get_object())

    def _shape(self, experiment) -> dict:
        experiment = self.get_queryset().get(pk=experiment.pk)
        data = ExperimentSerializer(experiment).data
        data["run"] = data["runs"][-1] if data["runs"] else None
        return data


def _deleted(delete, **target) -> Response:
    try:
        delete(**target)
    except RunInUse as exc:
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    return Response(status=status.HTTP_204_NO_CONTENT)


_CSV_PARAMETERS = [
    OpenApiParameter("axis", str, enum=CSV_AXES, description="x axis column; default step"),
    OpenApiParameter(
        "layout",
        str,
        enum=CSV_FORMATS,
        description="long: run,series,step,value rows; wide: a column per series",
    ),
]


def _choice_param(params, name: str, choices: tuple[str, ...]) -> str:
    value = params.get(name) or choices[0]
    if value not in choices:
        raise ValidationError({name: [f"must be one of {', '.join(choices)}, not {value!r:.40}."]})
    return value


def _ids_param(params) -> list[int]:
    ids: list[int] = []
    for part in ",".join(params.getlist("ids")).split(","):
        part = part.strip()
        if not (part.isdigit() and len(part) < 19):
            raise ValidationError(
                {"ids": [f"must be run ids separated by commas, not {part!r:.40}."]}
            )
        if int(part) not in ids:
            ids.append(int(part))
    return ids


def _csv_response(runs: list[Run], params, filename: str) -> StreamingHttpResponse:
    axis = _choice_param(params, "axis", CSV_AXES)
    layout = _choice_param(params, "layout", CSV_FORMATS)
    lines = metrics_csv(runs, axis=axis, layout=layout)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{layout}-{axis}.csv"'
    return response


def _lean(runs, action: str | None, params):
    """What the run page polls every second reads no more than it shows: the run and its
    experiment for its JSON (not the dataset, whose column statistics can be large), and only
    the run's id and status for its metric points (unless their x axis needs the config)."""
    if action in ("retrieve", "list"):
        return runs.select_related(None).select_related("experiment")
    if action == "metrics" and not params.get("x"):
        return runs.select_related(None).only("id", "status", "experiment_id")
    return runs


class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = RunSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Run.objects.none()
        qs = runs_visible_to(self.request.user)
        params = self.request.query_params
        if params.get("experiment"):
            qs = qs.filter(experiment_id=_int_param(params, "experiment", 1))
        if params.get("status"):
            wanted = params["status"]
            if wanted not in Run.Status.values:
                raise ValidationError(
                    {"status": [f"choose one of: {', '.join(Run.Status.values)}."]}
                )
            qs = qs.filter(status=wanted)
        return _lean(
            runs_matching(qs, params.get("q", ""), params.get("tag", "")), self.action, params
        )

    @extend_schema(
        responses={
            204: None,
            409: error_response("Queued or running, or a resumed run starts from it."),
        },
        description="Delete a finished run with its points, events and stored files "
        "(checkpoints, resume checkpoints, model).",
    )
    def destroy(self, request, pk=None):
        return _deleted(run_delete, run=self.get_object())

    @extend_schema(
        parameters=[
            OpenApiParameter("experiment", int, description="only runs of this experiment"),
            OpenApiParameter("status", str, enum=Run.Status.values),
            OpenApiParameter(
                "q", str, description="text in the name, tags, notes or any config value"
            ),
            OpenApiParameter("tag", str, description="only runs carrying this tag"),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=RunMetadataSerializer, responses=RunSerializer)
    def partial_update(self, request, pk=None):
        """Set the run's name, tags and/or notes; nothing else of a run can be changed."""
        run = run_update_metadata(self.get_object(), request.data)
        return Response(RunSerializer(run).data)

    @extend_schema(
        request=None,
        responses={200: RunSerializer, 409: error_response("The run has already finished.")},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        try:
            run = run_request_cancel(self.get_object())
        except AlreadyFinished as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(RunSerializer(run).data)

    @extend_schema(
        request=None,
        responses={
            201: RunSerializer,
            409: error_response("Not cancelled, or cancelled before its first checkpoint."),
            429: RUN_QUOTA,
        },
    )
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Go on with a cancelled run from the checkpoint its cancel left: a new run of the same
        experiment, carrying the points and events up to that step (201, the new run)."""
        try:
            run = run_resume(self.get_object())
        except NotResumable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(RunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=inline_serializer("RunEvents", {"events": serializers.ListField()}))
    @action(detail=True, methods=["get"])
    def events(self, request, pk=None):
        """Events in step order: warm restarts, decays, the optimizer switch, SWA, early stopping,
        new best checkpoints. Each: {type, step, epoch, ...details}."""
        run = self.get_object()
        return Response({"run": run.id, "events": run_events(run)})

    @extend_schema(
        request=inline_serializer(
            "Predict", {"rows": serializers.ListField(child=serializers.DictField())}
        ),
        responses={
            200: inline_serializer("Predictions", {"predictions": serializers.ListField()}),
            409: error_response("The run has no trained model (yet, or ever)."),
        },
        description=f"Raw rows as in the dataset (every feature column; null for a missing value), at most "
        f"{MAX_PREDICT_ROWS} per request; an image run takes "
        '{"image": a base64 PNG or JPEG, or pixel values height × width [× channels]}. '
        "Classification answers label and probabilities (scores for hinge losses); regression "
        "answers value.",
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def predict(self, request, pk=None):
        run = self.get_object()
        body = request.data if isinstance(request.data, dict) else {}
        try:
            predictions = run_predict(run, body.get("rows"))
        except ModelNotReady as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response({"run": run.id, "predictions": predictions})

    @extend_schema(
        operation_id="v1_runs_metrics_csv_one",
        parameters=_CSV_PARAMETERS,
        responses={(200, "text/csv"): str},
    )
    @action(detail=True, methods=["get"], url_path="metrics/csv")
    def metrics_download(self, request, pk=None):
        """Every stored metric point of the run as CSV (long or wide, on any axis)."""
        return _csv_response([self.get_object()], request.query_params, f"run-{pk}-metrics")

    @extend_schema(
        operation_id="v1_runs_metrics_csv_selection",
        parameters=[
            OpenApiParameter("ids", str, required=True, description="run ids, e.g. 3,5,8"),
            *_CSV_PARAMETERS,
        ],
        responses={(200, "text/csv"): str},
    )
    @action(detail=False, methods=["get"], url_path="metrics/csv")
    def compare_metrics_csv(self, request):
        """The metric points of several runs (the compare page's selection) in one CSV."""
        ids = _ids_param(request.query_params)
        found = {run.id: run for run in self.get_queryset().filter(pk__in=ids)}
        missing = [i for i in ids if i not in found]
        if missing:
            raise ValidationError({"ids": [f"no run {missing[0]} of yours."]})
        name = "runs-" + "-".join(map(str, ids)) + "-metrics"
        return _csv_response([found[i] for i in ids], request.query_params, name)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "what", str, OpenApiParameter.PATH, enum=DOWNLOAD_NAMES, description="which file"
            )
        ],
        responses={
            (200, "application/octet-stream"): bytes,
            (200, "application/json"): dict,  # `config` and `inference`
            404: error_response("No such file for this run (not finished, or none kept)."),
        },
        description="The run's files to take away, by name: `onnx` and `torchscript` (the "
        'network on preprocessed features, raw outputs; README "Taking results away"), the '
        "`best` and `last` checkpoints (torch.save dicts), `config` (JSON that POST "
        "/experiments/ accepts).",
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=rf"download/(?P<what>{'|'.join(DOWNLOAD_NAMES)})",
    )
    def download(self, request, pk=None, what=None):
        run = self.get_object()
        try:
            filename, content, content_type = run_download(run, what)
        except NotDownloadable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_404_NOT_FOUND)
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    @extend_schema(
        parameters=[
            OpenApiParameter("name", str, many=True, description="series names; default: all"),
            OpenApiParameter(
                "max_points", int, description=f"per series, default {DEFAULT_MAX_POINTS}"
            ),
            OpenApiParameter("since_step", int, description="only points after this step"),
            OpenApiParameter(
                "until_step", int, description="only points up to this step (a zoomed range)"
            ),
            OpenApiParameter(
                "x",
                str,
                enum=AXES,
                description="also give each point's x on this axis ('x' beside 'steps'): "
                "fractional epoch, samples seen or seconds since start; default step",
            ),
        ],
        responses=inline_serializer("MetricSeries", {"series": serializers.DictField()}),
    )
    @action(detail=True, methods=["get"])
    def metrics(self, request, pk=None):
        run = self.get_object()
        params = request.query_params
        names = params.getlist("name")
        for name in names:
            refuse_unstorable_text(name, "name")
        names = names or run_metric_names(run)
        max_points = _int_param(
            params, "max_points", 3, default=DEFAULT_MAX_POINTS, maximum=MAX_MAX_POINTS
        )
        since_step = _int_param(params, "since_step", 0, default=0)
        until_step = _int_param(params, "until_step", 1, default=LAST_STEP, maximum=LAST_STEP)
        axis = params.get("x")
        if axis is not None and axis not in AXES:
            raise ValidationError({"x": [f"choose one of: {', '.join(AXES)}; not {axis!r}."]})
        series = run_metrics_series(
            run, names, max_points=max_points, since_step=since_step, until_step=until_step
        )
        body = {"run": run.id, "status": run.status, "series": series}
        if axis:  # each series' x values beside its steps, and the axis they are on
            body["x"] = series_on_axis(run, series, axis)
        return Response(body)


def _int_param(
    params, name: str, minimum: int, *, default: int | None = None, maximum: int = 2**63 - 1
) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: [f"must be a whole number, not {raw!r}."]}) from None
    if not minimum <= value <= maximum:
        bound = f"between {minimum} and {maximum}"
        raise ValidationError({name: [f"must be {bound}, not {value}."]})
    return value
