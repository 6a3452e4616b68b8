from django.urls import path

from . import landscape_views, views

urlpatterns = [
    path("range-tests/<int:test_id>/", views.range_test_page, name="range-test"),
    path(
        "range-tests/<int:test_id>/cancel/",
        views.range_test_cancel_page,
        name="range-test-cancel-page",
    ),
    path("landscapes/<int:landscape_id>/", landscape_views.landscape_page, name="landscape"),
    path(
        "landscapes/<int:landscape_id>/cancel/",
        landscape_views.landscape_cancel_page,
        name="landscape-cancel-page",
    ),
]
