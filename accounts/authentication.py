"""DRF authentication by the X-API-Key header."""

from rest_framework.authentication import BaseAuthentication

from accounts.selectors import active_api_key_for
from accounts.services import touch_api_key
from visionera.api.errors import Unauthorized

API_KEY_HEADER = "X-API-Key"


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        offered = request.headers.get(API_KEY_HEADER)
        if offered is None:
            return None
        api_key = active_api_key_for(offered.strip())
        if api_key is None:
            raise Unauthorized("the API key is unknown, revoked or malformed")
        touch_api_key(api_key=api_key)
        return api_key.user, api_key

    def authenticate_header(self, request):
        return API_KEY_HEADER
