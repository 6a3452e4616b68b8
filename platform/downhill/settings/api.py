"""Django REST Framework and the OpenAPI schema."""

from .env import env_int, env_str

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "downhill.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # Documents each operation's error answers too (tests/api/test_fuzz.py holds every response
    # to the schema).
    "DEFAULT_SCHEMA_CLASS": "downhill.api.schema.ApiSchema",
    # DRF's parsers, refusing text no database column can hold (NUL, lone surrogates) with a
    # 400 naming the field. JSON only, so the schema offers every body as JSON alone (a body
    # also offered as form and multipart makes generated clients that do not import); the
    # upload, the one multipart body, names its parsers on its view.
    "DEFAULT_PARSER_CLASSES": ["downhill.api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "downhill.api.errors.exception_handler",
    # Guessing passwords and mass sign-up are slowed down per client address: REMOTE_ADDR,
    # never a client's own X-Forwarded-For, unless DOWNHILL_TRUSTED_PROXIES proxies (nginx,
    # a load balancer) stand in front and append to it.
    "NUM_PROXIES": env_int("DOWNHILL_TRUSTED_PROXIES", 0),
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.ScopedRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"auth": env_str("DOWNHILL_AUTH_THROTTLE", "30/min")},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Downhill API",
    "DESCRIPTION": "Upload datasets, configure experiments, follow training runs.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's files come from the drf-spectacular-sidecar package: nothing from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Request components of their own (`SignInRequest`, `ExperimentConfigRequest`): fields the
    # server fills are read-only and absent from requests, and a FileField is binary in a
    # request (a URI in an answer), so clients generated from the schema send what it asks for.
    "COMPONENT_SPLIT_REQUEST": True,
    # Each set of status choices gets an enum of its own name (several fields are "status";
    # a run and an LR range test share one set).
    "ENUM_NAME_OVERRIDES": {
        "DatasetStatusEnum": "downhill.datasets.models.Dataset.Status",
        "RunStatusEnum": "downhill.runs.models.Run.Status",
        "SweepStatusEnum": "downhill.sweeps.models.Sweep.Status",
    },
}
