from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from downhill.lab import landscape_views
from downhill.lab import views as lab_views

urlpatterns = [
    path("api/v1/", include("downhill.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its settings as a script file of their own and our template has
    # no inline style: nothing the Content-Security-Policy would block.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
    path("admin/", admin.site.urls),
    path("", include("downhill.accounts.urls")),
    path("", include("downhill.dashboard.urls")),
    path("lab/", include("downhill.lab.urls")),
    # On a run's page, "Find a learning rate": named by the run, so under runs/.
    path("runs/<int:run_id>/range-test/", lab_views.range_test_start, name="range-test-start"),
    path("runs/<int:run_id>/landscape/", landscape_views.landscape_start, name="landscape-start"),
    path("", include("downhill.sweeps.urls")),
]
