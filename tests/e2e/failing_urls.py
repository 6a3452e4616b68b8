"""The project's URLs and one that fails, to see the 500 page a user would get."""

from django.urls import path

from downhill.urls import urlpatterns as project_urls


def fail(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [*project_urls, path("fail/", fail)]
