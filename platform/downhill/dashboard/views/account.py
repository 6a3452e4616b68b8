"""Sign in (and out: Django's LogoutView). Sign-up lives in downhill.accounts."""

from django.conf import settings
from django.contrib.auth import views as auth_views


class SignInView(auth_views.LoginView):
    template_name = "dashboard/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        # The link to sign up shows only where sign-up is open.
        return {
            **super().get_context_data(**kwargs),
            "signup_open": getattr(settings, "DOWNHILL_ALLOW_SIGNUP", False),
        }
