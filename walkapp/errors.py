"""HTTP errors whose detail is a French sentence meant for the user.

Litestar's own exceptions carry English details meant for developers; the error handlers in
web.py show ours as they are and replace the others by a French sentence for their status.
"""

from litestar.exceptions import (
    ClientException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.status_codes import HTTP_409_CONFLICT, HTTP_429_TOO_MANY_REQUESTS


class UserFacing:
    """Marker: `detail` is a French sentence, and `code` the API's error code."""

    code: str = "bad_request"


class BadRequest(UserFacing, ClientException):
    code = "invalid"


class SignInRequired(UserFacing, NotAuthorizedException):
    code = "unauthorized"


class Forbidden(UserFacing, PermissionDeniedException):
    code = "forbidden"


class NotFound(UserFacing, NotFoundException):
    code = "not_found"


class Conflict(UserFacing, ClientException):
    status_code = HTTP_409_CONFLICT
    code = "conflict"


class TooManyRequests(UserFacing, ClientException):
    status_code = HTTP_429_TOO_MANY_REQUESTS
    code = "too_many_requests"
