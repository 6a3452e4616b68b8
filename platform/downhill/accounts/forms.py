"""The sign-in forms of the dashboard and the admin, behind the failed sign-in limit."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from .signin_limits import SignInLocked, check


class LimitedSignInMixin:
    def clean(self):
        try:
            check(self.request, self.data.get("username", ""))
        except SignInLocked as exc:
            raise forms.ValidationError(str(exc), code="locked") from None
        return super().clean()


class SignInForm(LimitedSignInMixin, AuthenticationForm):
    pass


class AdminSignInForm(LimitedSignInMixin, AdminAuthenticationForm):
    pass
