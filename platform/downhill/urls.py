from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

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
    path("", include("downhill.sweeps.urls")),
]
