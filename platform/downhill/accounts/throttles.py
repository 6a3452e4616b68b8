"""The sign-up page counts against the same per-address rate as the API's token and sign-up
endpoints (DOWNHILL_AUTH_THROTTLE): one budget per client address, whichever door it uses."""

from math import ceil

from rest_framework.throttling import SimpleRateThrottle


class SignupPageThrottle(SimpleRateThrottle):
    scope = "auth"  # ScopedRateThrottle's scope of the API views, and so its cache key

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def message(self) -> str:
        return (
            f"Too many sign-up attempts from your address; try again in "
            f"{ceil(self.wait() or 1)} seconds."
        )
