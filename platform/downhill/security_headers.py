"""Headers on every answer that Django's own middleware leaves out: a Content-Security-Policy
allowing only our own files (no inline script or style anywhere: the dashboard's scripts and
styles are static files, its data travels in `json_script` blocks, which never run), and
`Cache-Control: private, no-store` wherever the answer belongs to a signed-in user or carries
a new token. Frame, content-type and referrer headers come from Django's SecurityMiddleware
and XFrameOptionsMiddleware (settings/base.py)."""

from __future__ import annotations

from django.utils.cache import patch_cache_control

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Answers that hold a token to an anonymous caller.
TOKEN_PATHS = ("/api/v1/auth/",)


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or request.path.startswith(TOKEN_PATHS):
            patch_cache_control(response, private=True, no_store=True)
        return response
