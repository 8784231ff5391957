"""The one error type of walkapp: a status, a code and a French sentence meant for the person.

Every refusal anywhere (a form, the JSON API, Open311, a guard, the photo pipeline) raises an
`AppError` (or one of the named shortcuts below, which only preset the status and code). One
handler (web.py) renders it in the shape of the route that raised it: a page, an htmx message, the
API's `{"error": code, "detail": sentence}` or Open311's list of `{code, description}`. Nothing
re-maps one error class to another by hand.

Litestar's own exceptions (404 of an unknown URL, 405, a body too large, a CSRF refusal) carry
English details meant for developers: the handler turns them into an AppError with the French
sentence of their status (`from_status`).
"""

from __future__ import annotations

from collections.abc import Mapping

# The API's error codes by status, and the sentence shown when nothing more precise is known.
CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
         422: "invalid", 429: "too_many_requests", 500: "server_error"}

SENTENCES = {
    400: "La demande n'est pas valide.",
    401: "Connectez-vous pour continuer.",
    403: "Vous n'avez pas accès à cette page.",
    404: "Cette page n'existe pas ou plus.",
    405: "Cette action n'est pas possible ici.",
    409: "Cette demande est en conflit avec l'état actuel : rechargez la page.",
    413: "L'envoi est trop gros.",
    415: "Ce type de fichier n'est pas accepté.",
    422: "Certaines valeurs ne sont pas valides.",
    429: "Trop de tentatives : patientez un peu avant de réessayer.",
    500: "Une erreur est survenue de notre côté. Rien n'a été enregistré ; réessayez plus tard.",
}
CSRF_SENTENCE = "Le formulaire a expiré. Rechargez la page puis recommencez."


class AppError(Exception):
    """A refusal the person reads. `detail` is a French sentence; `fields` maps a form's field
    names to their own French messages ("" for the whole form) when a form is refused;
    `headers` go on the response (Retry-After of a 429)."""

    status: int = 400
    code: str = ""

    def __init__(self, detail: str = "", *, status: int | None = None, code: str | None = None,
                 fields: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None):
        if status is not None:
            self.status = status
        self.code = code or self.code or CODES.get(self.status, "error")
        self.fields = dict(fields or {})
        self.detail = detail or next(iter(self.fields.values()), "") or SENTENCES.get(self.status, SENTENCES[400])
        self.headers = dict(headers or {})
        super().__init__(self.detail)

    @classmethod
    def from_status(cls, status: int, detail: str | None = None) -> AppError:
        """The French error of a bare HTTP status (Litestar's own exceptions)."""
        status = status if 400 <= status <= 599 else 500
        if status > 500:
            status = 500
        return cls(detail or SENTENCES.get(status, SENTENCES[400 if status < 500 else 500]), status=status)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.code!r}, {self.detail!r})"


class BadRequest(AppError):
    status, code = 400, "bad_request"


class SignInRequired(AppError):
    status, code = 401, "unauthorized"


class JoinRequired(SignInRequired):
    """A 401 whose way in is joining the walk (its link or QR code), not the staff sign-in page:
    a page shows the sentence instead of sending a resident to /connexion. Same API code."""


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class Conflict(AppError):
    status, code = 409, "conflict"


class TooLarge(AppError):
    status, code = 413, "too_large"


class UnsupportedMedia(AppError):
    status, code = 415, "unsupported_media_type"


class Invalid(AppError):
    """A form or a field refused (422); `fields` says which, each in French."""

    status, code = 422, "invalid"


class TooManyRequests(AppError):
    status, code = 429, "too_many_requests"
