"""Sign in (and out: Django's LogoutView). Sign-up lives in downhill.accounts."""

from django.conf import settings
from django.contrib.auth import views as auth_views

from downhill.accounts.forms import SignInForm


class SignInView(auth_views.LoginView):
    template_name = "dashboard/login.html"
    redirect_authenticated_user = True
    authentication_form = SignInForm

    def get_context_data(self, **kwargs):
        # The link to sign up shows only where sign-up is open.
        return {
            **super().get_context_data(**kwargs),
            "signup_open": getattr(settings, "DOWNHILL_ALLOW_SIGNUP", False),
        }

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error("__all__", "locked"):
            response.status_code = 429
        return response
