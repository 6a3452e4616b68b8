"""Token auth: POST username + password, get the user's API token."""

from rest_framework.authtoken.views import ObtainAuthToken


class TokenView(ObtainAuthToken):
    """`{"username", "password"}` -> `{"token"}`; the token goes in `Authorization: Token <key>`."""
