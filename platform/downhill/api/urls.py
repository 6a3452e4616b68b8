from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import views
from .auth import ApiTokenViewSet, RegisterView, TokenView

router = DefaultRouter()
router.register("datasets", views.DatasetViewSet, basename="dataset")
router.register("experiments", views.ExperimentViewSet, basename="experiment")
router.register("runs", views.RunViewSet, basename="run")
router.register("auth/tokens", ApiTokenViewSet, basename="api-token")

urlpatterns = [
    path("health/", views.health, name="health"),
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("auth/register/", RegisterView.as_view(), name="auth-register"),
    path("", include(router.urls)),
]
