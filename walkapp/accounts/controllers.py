"""Sign-in and sign-out, one's password and read tokens, and the coordinator's list of accounts."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Template

from ..errors import Invalid, NotFound
from ..policy import allowed
from ..sessions import end_sessions, open_session_counts, session_id
from ..tables import StaffUser
from ..urls import absolute, url
from ..web import redirect, render
from . import throttle, tokens
from .services import AccountError, authenticate, change_password, staff_accounts

FormBody = Body(media_type=RequestEncodingType.URL_ENCODED)


def _safe_next(path: str | None) -> str:
    """Only local paths after sign-in: never an open redirect to another site."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return url("home")


class AccountController(Controller):
    path = "/"
    include_in_schema = False

    @get("/connexion", name="sign_in.page")
    async def sign_in_page(self, request: Request, suite: FromQuery[str | None] = None) -> Template:
        return render(request, "accounts/sign_in.html", next=_safe_next(suite), email="", error=None)

    @post("/connexion", name="sign_in", status_code=200)
    async def sign_in(self, request: Request, data: Annotated[dict[str, str], FormBody]) -> Response | Template:
        email = (data.get("email") or "").strip().lower()[:254]
        password = data.get("password") or ""
        next_path = _safe_next(data.get("next"))
        address = throttle.client_address(request.client.host if request.client else None)
        await throttle.check(email, address)
        user = await authenticate(email, password)
        if user is None:
            await throttle.failed(email, address)
            return render(request, "accounts/sign_in.html", block="form", status_code=401,
                          next=next_path, email=email, error="Adresse e-mail ou mot de passe incorrect.")
        await throttle.succeeded(email, address)
        # Walk joins carry over; the session itself gets a new id (sessions.DatabaseSessionBackend:
        # the signed-in user changed), so an id planted before sign-in opens nothing.
        participants = request.session.get("participants", {}) if request.session else {}
        request.set_session({"user_id": user.id, "participants": participants})
        return redirect(request, next_path)

    @post("/deconnexion", name="sign_out", status_code=200)
    async def sign_out(self, request: Request) -> Response:
        """Ends the session on the server (a copied cookie opens nothing after this), staff sign-in
        and walk joins alike: on a shared phone the next person starts from nothing. The service
        worker empties its cache of pages when it sees this POST (static/js/sw.js);
        Clear-Site-Data empties the browser's HTTP cache (not IndexedDB: unsent constats stay)."""
        request.clear_session()
        response = redirect(request, url("sign_in.page"))
        response.headers["Clear-Site-Data"] = '"cache"'
        return response


PASSWORD_PAGE = "accounts/password.html"


async def _account_page(request: Request, block: str | None = None, status_code: int = 200,
                        **context: object) -> Template:
    """The account page (password, read tokens), or one of its blocks for htmx."""
    context.setdefault("errors", {})
    context.setdefault("done", None)
    context.setdefault("token_errors", {})
    return render(request, PASSWORD_PAGE, block=block, status_code=status_code,
                  tokens=await tokens.tokens_of(request.user), ogc_url=absolute(request.base_url, "ogc.landing"),
                  **context)


def _ended(count: int) -> str:
    if not count:
        return "aucune session ouverte"
    plural = "s" if count > 1 else ""
    return f"{count} session{plural} fermée{plural}"


class StaffAccountController(Controller):
    """One's own password; for coordinators, the staff accounts and ending their sessions."""

    path = "/"
    include_in_schema = False
    guards = [allowed("account.own")]

    @get("/compte", name="account.page")
    async def password_page(self, request: Request) -> Template:
        return await _account_page(request)

    @post("/compte/jetons", name="account.tokens.create", status_code=200)
    async def create_token(self, request: Request, data: Annotated[dict[str, str], FormBody]) -> Template:
        """A read token for QGIS or a script: shown in this answer only (walkapp.accounts.tokens)."""
        try:
            row, token = await tokens.create_token(request.user, data.get("name", ""))
        except Invalid as error:
            return await _account_page(request, block="tokens", status_code=422, token_errors=error.fields,
                                       token_name=(data.get("name") or "")[:tokens.MAX_NAME])
        return await _account_page(request, block="tokens", status_code=201, new_token=token, new_token_row=row)

    @post("/compte/jetons/{token_id:int}/revoquer", name="account.tokens.revoke", status_code=200)
    async def revoke_token(self, request: Request, token_id: FromPath[int]) -> Response:
        await tokens.revoke(request.user, token_id)
        return redirect(request, url("account.page") + "#tokens")

    @post("/compte/mot-de-passe", name="account.password", status_code=200)
    async def change_password(self, request: Request, data: Annotated[dict[str, str], FormBody]) -> Template:
        try:
            ended = await change_password(request.user, data.get("current", ""), data.get("new", ""),
                                          data.get("confirm", ""), keep_session=session_id(request))
        except AccountError as error:
            return await _account_page(request, block="form", status_code=422, errors=error.errors)
        done = "Mot de passe changé." + (f" Autres sessions : {_ended(ended)}." if ended else "")
        return await _account_page(request, block="form", done=done)

    @get("/comptes", name="accounts.list", guards=[allowed("accounts.manage")])
    async def accounts_page(self, request: Request) -> Template:
        return render(request, "accounts/list.html", users=await staff_accounts(), sessions=await open_session_counts(),
                      done=None)

    @post("/comptes/{user_id:int}/fermer-sessions", name="accounts.end_sessions",
          guards=[allowed("accounts.manage")], status_code=200)
    async def end_user_sessions(self, request: Request, user_id: FromPath[int]) -> Template:
        """A lost phone, a departed agent: every session of the account ends now (the caller's own
        too, when they end their own: they sign in again), and its read tokens are revoked."""
        user = await StaffUser.objects().where(StaffUser.id == user_id).first()
        if user is None:
            raise NotFound("Ce compte n'existe pas.")
        ended = await end_sessions(user.id)
        revoked = await tokens.revoke_all(user.id)
        plural = "s" if revoked > 1 else ""
        done = f"{user.display_name} : {_ended(ended)}" + (
            f", {revoked} jeton{plural} de lecture révoqué{plural}." if revoked else ".")
        return render(request, "accounts/list.html", block="accounts", users=await staff_accounts(),
                      sessions=await open_session_counts(), done=done)
