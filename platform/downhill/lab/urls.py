from django.urls import path

from . import views

urlpatterns = [
    path("range-tests/<int:test_id>/", views.range_test_page, name="range-test"),
    path(
        "range-tests/<int:test_id>/cancel/",
        views.range_test_cancel_page,
        name="range-test-cancel-page",
    ),
]
