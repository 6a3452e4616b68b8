from django.urls import path

from . import landscape_views, playground_views, views

urlpatterns = [
    path("playground/", playground_views.playground_page, name="playground"),
    path(
        "playground/<int:playground_id>/", playground_views.playground_page, name="playground-open"
    ),
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
