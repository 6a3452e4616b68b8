from django.urls import include, path, re_path
from rest_framework.routers import DefaultRouter

from downhill.lab.api import RangeTestViewSet
from downhill.lab.landscape_api import LandscapeViewSet
from downhill.lab.playground_api import PlaygroundViewSet
from downhill.sweeps.api import SweepViewSet
from downhill.sweeps.comparison_api import ComparisonViewSet

from . import views
from .auth import ApiTokenViewSet, RegisterView, TokenView
from .errors import NotFoundView

router = DefaultRouter()
router.register("datasets", views.DatasetViewSet, basename="dataset")
router.register("experiments", views.ExperimentViewSet, basename="experiment")
router.register("runs", views.RunViewSet, basename="run")
router.register("lab/range-tests", RangeTestViewSet, basename="range-test")
router.register("lab/landscapes", LandscapeViewSet, basename="landscape")
router.register("lab/playground", PlaygroundViewSet, basename="playground")
router.register("sweeps", SweepViewSet, basename="sweep")
router.register("optimizer-comparisons", ComparisonViewSet, basename="optimizer-comparison")
router.register("auth/tokens", ApiTokenViewSet, basename="api-token")

urlpatterns = [
    path("health/", views.health, name="health"),
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("auth/register/", RegisterView.as_view(), name="auth-register"),
    path("", include(router.urls)),
    # Last: a JSON 404 for the rest: any characters (`.` would stop at a newline), ending in a
    # slash, so that CommonMiddleware still redirects `/api/v1/runs` to `/api/v1/runs/`.
    re_path(r"^[\s\S]*/$", NotFoundView.as_view()),
]
