"""DRF authentication: the X-API-Key header, or the dashboard session of a verified account."""

from drf_spectacular.authentication import SessionScheme
from rest_framework.authentication import BaseAuthentication, SessionAuthentication

from accounts.selectors import api_key_get_active, may_create_api_keys
from accounts.services import touch_api_key
from visionera.api.errors import Unauthorized

API_KEY_HEADER = "X-API-Key"


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        offered = request.headers.get(API_KEY_HEADER)
        if offered is None:
            return None
        api_key = api_key_get_active(offered.strip())
        if api_key is None:
            raise Unauthorized("the API key is unknown, revoked or malformed")
        touch_api_key(api_key=api_key)
        return api_key.user, api_key

    def authenticate_header(self, request):
        return API_KEY_HEADER


class VerifiedSessionAuthentication(SessionAuthentication):
    """The dashboard's session (the playground), CSRF enforced, for accounts allowed to use
    the API: with VISIONERA_SIGNUP=verify an account whose email link was not followed gets
    no more through the playground than it could with a key (none)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None and not may_create_api_keys(result[0]):
            raise Unauthorized("confirm your email address first (the link we sent you)")
        return result


class VerifiedSessionScheme(SessionScheme):
    """The OpenAPI description: the same session cookie as DRF's SessionAuthentication."""

    target_class = "accounts.authentication.VerifiedSessionAuthentication"
