"""Sign-in and sign-out pages."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Template

from ..errors import TooManyRequests
from ..security import sign_in_throttle
from ..web import redirect, render
from .services import authenticate

FormBody = Body(media_type=RequestEncodingType.URL_ENCODED)


def _safe_next(path: str | None) -> str:
    """Only local paths after sign-in: never an open redirect to another site."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/"


class AccountController(Controller):
    path = "/"
    include_in_schema = False

    @get("/connexion")
    async def sign_in_page(self, request: Request, suite: FromQuery[str | None] = None) -> Template:
        return render(request, "accounts/sign_in.html", next=_safe_next(suite), email="", error=None)

    @post("/connexion", status_code=200)
    async def sign_in(self, request: Request, data: Annotated[dict[str, str], FormBody]) -> Response | Template:
        email = (data.get("email") or "").strip().lower()[:254]
        password = data.get("password") or ""
        next_path = _safe_next(data.get("next"))
        address = request.client.host if request.client else "?"
        wait = sign_in_throttle.retry_after(email, address)
        if wait:
            minutes = max(1, round(wait / 60))
            raise TooManyRequests(
                f"Trop de tentatives de connexion. Réessayez dans {minutes} minute{'s' if minutes > 1 else ''}."
            )
        user = await authenticate(email, password)
        if user is None:
            sign_in_throttle.failed(email, address)
            return render(request, "accounts/sign_in.html", block="form", status_code=401,
                          next=next_path, email=email, error="Adresse e-mail ou mot de passe incorrect.")
        sign_in_throttle.succeeded(email)
        # A fresh session on sign-in: nothing from before (fixation) carries over but walk joins.
        participants = request.session.get("participants", {}) if request.session else {}
        request.clear_session()
        request.set_session({"user_id": user.id, "participants": participants})
        return redirect(request, next_path)

    @post("/deconnexion", status_code=200)
    async def sign_out(self, request: Request) -> Response:
        request.clear_session()
        return redirect(request, "/connexion")
