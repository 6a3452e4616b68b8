from django.urls import path

from . import views

urlpatterns = [
    path("sweeps/<int:sweep_id>/", views.sweep_page, name="sweep"),
    path("sweeps/<int:sweep_id>/train-best/", views.sweep_train_best, name="sweep-train-best"),
    path("sweeps/<int:sweep_id>/cancel/", views.sweep_cancel_view, name="sweep-cancel"),
]
