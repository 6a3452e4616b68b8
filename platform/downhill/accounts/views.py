"""The sign-up page."""

from django.conf import settings
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from .services import SIGNUP_CLOSED, user_register
from .throttles import SignupPageThrottle


@require_http_methods(["GET", "POST"])
def signup_page(request):
    if request.user.is_authenticated:
        return redirect("runs")
    if not settings.DOWNHILL_ALLOW_SIGNUP:
        return render(
            request, "accounts/signup_closed.html", {"message": SIGNUP_CLOSED}, status=403
        )
    context = {"username": "", "email": "", "errors": {}}
    if request.method == "POST":
        throttle = SignupPageThrottle()
        if not throttle.allow_request(request, None):
            context["errors"] = {"non_field_errors": [throttle.message()]}
            return render(request, "accounts/signup.html", context, status=429)
        context.update(
            username=request.POST.get("username", ""), email=request.POST.get("email", "")
        )
        try:
            user = user_register(
                username=context["username"],
                password=request.POST.get("password", ""),
                email=context["email"],
            )
        except ValidationError as exc:
            context["errors"] = exc.message_dict
            return render(request, "accounts/signup.html", context, status=400)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("runs")
    return render(request, "accounts/signup.html", context)
