from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="dashboard/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.runs_page, name="runs"),
    path("runs/<int:run_id>/", views.run_page, name="run"),
    # Not "run-cancel": the API router already names its cancel action that.
    path("runs/<int:run_id>/cancel/", views.run_cancel, name="cancel-run"),
]
