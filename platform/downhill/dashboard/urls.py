from django.contrib.auth import views as auth_views
from django.urls import path

from .views import account, datasets, experiments, predict, runs

urlpatterns = [
    path("login/", account.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", runs.runs_page, name="runs"),
    path("runs/compare/", runs.runs_compare, name="runs-compare"),
    path("runs/<int:run_id>/", runs.run_page, name="run"),
    # Not "run-cancel": the API router already names its cancel action that.
    path("runs/<int:run_id>/cancel/", runs.run_cancel, name="cancel-run"),
    path("runs/<int:run_id>/again/", runs.run_rerun, name="rerun"),
    path("runs/<int:run_id>/about/", runs.run_about, name="run-about"),
    path("runs/<int:run_id>/predict/", predict.run_predict_page, name="run-predict-page"),
    path("runs/<int:run_id>/resume/", runs.run_resume_view, name="resume-run"),
    path("datasets/", datasets.datasets_page, name="datasets"),
    path("datasets/<int:dataset_id>/", datasets.dataset_page, name="dataset"),
    path("datasets/<int:dataset_id>/delete/", datasets.dataset_delete_view, name="dataset-delete"),
    path("experiments/new/", experiments.experiment_new, name="experiment-new"),
    path(
        "experiments/new/preview/",
        experiments.experiment_form_preview,
        name="experiment-form-preview",
    ),
]
