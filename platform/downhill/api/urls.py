from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import views
from .auth import TokenView

router = DefaultRouter()
router.register("datasets", views.DatasetViewSet, basename="dataset")
router.register("experiments", views.ExperimentViewSet, basename="experiment")
router.register("runs", views.RunViewSet, basename="run")

urlpatterns = [
    path("health/", views.health, name="health"),
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("", include(router.urls)),
]
