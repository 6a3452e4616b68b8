from django.urls import path

from . import comparison_views, views

urlpatterns = [
    path("sweeps/<int:sweep_id>/", views.sweep_page, name="sweep"),
    path("sweeps/<int:sweep_id>/train-best/", views.sweep_train_best, name="sweep-train-best"),
    path("sweeps/<int:sweep_id>/cancel/", views.sweep_cancel_view, name="sweep-cancel"),
    path("datasets/<int:dataset_id>/compare-optimizers/", comparison_views.comparison_new,
         name="optimizer-comparison-new"),
    path("comparisons/<int:comparison_id>/", comparison_views.comparison_page,
         name="optimizer-comparison"),
    path("comparisons/<int:comparison_id>/cancel/", comparison_views.comparison_cancel_view,
         name="optimizer-comparison-cancel"),
]  # fmt: skip
