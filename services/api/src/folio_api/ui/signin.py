"""Signing in with an API key, and out.

``POST /ui/login`` resolves the key as the API does (same cache, same
failed-authentication limit per address), creates a session
(:mod:`folio_api.ui.sessions`) and sets its cookie: ``HttpOnly``,
``SameSite=Strict``, ``Path=/ui``, ``Secure`` when the request came over
HTTPS (directly or through a proxy saying ``X-Forwarded-Proto: https``).
A sign-in form posted from another site is refused (its ``Origin`` must be
this server's).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie, State
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template

from folio_api.domain.auth.guards import AUTH_STATE_KEY, AuthState
from folio_api.resources import get_resources
from folio_api.ui import sessions
from folio_api.ui.auth import LOGIN_PATH, csrf_guard, current_session
from folio_api.ui.sessions import COOKIE
from folio_api.ui.settings import UI_SETTINGS_KEY, UiSettings
from folio_shared.errors import FolioError


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a dashboard path only (no open redirect)."""
    if target and target.startswith("/ui") and not target.startswith("//"):
        return target
    return "/ui"


def _https(request: Request[Any, Any, Any]) -> bool:
    return (
        request.url.scheme == "https"
        or request.headers.get("x-forwarded-proto", "").lower() == "https"
    )


def _same_origin(request: Request[Any, Any, Any]) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


def _login_form(error: str | None, target: str, status_code: int = 200) -> Template:
    return Template(
        template_name="ui/login.html",
        context={"title": "Sign in", "error": error, "next": target},
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


class SignIn(Controller):
    """``/ui/login`` and ``/ui/logout``."""

    path = "/"
    include_in_schema = False

    @get("/login")
    async def form(
        self, next: Annotated[str | None, Parameter(max_length=2000)] = None
    ) -> Template:
        return _login_form(None, _safe_next(next))

    @post("/login", status_code=303)
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        state: State,
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Template | Redirect:
        target = _safe_next(data.get("next"))
        if not _same_origin(request):
            return _login_form("This form was posted from another site.", target, 403)
        r = get_resources(state)
        auth: AuthState = state[AUTH_STATE_KEY]
        address = request.client.host if request.client else "unknown"
        assert r.sessions is not None
        try:
            auth.failures.check(address)
            principal = await auth.keys.resolve(data.get("api_key", "").strip(), r.sessions)
        except FolioError as e:
            if e.http_status == 401:
                await auth.failures.failed(r.redis, address)
                return _login_form("That API key is not valid.", target, 401)
            return _login_form(e.message, target, e.http_status)
        ui_settings: UiSettings = state[UI_SETTINGS_KEY]
        ttl_s = ui_settings.session_ttl_s
        token = await sessions.create(r.redis, r.settings.broker.namespace, principal, ttl_s)
        if principal.is_operator and target == "/ui":
            target = "/ui/ops/queues"
        return Redirect(
            target,
            status_code=303,
            cookies=[
                Cookie(
                    key=COOKIE,
                    value=token,
                    path="/ui",
                    max_age=ttl_s,
                    httponly=True,
                    samesite="strict",
                    secure=_https(request),
                )
            ],
        )


class SignOut(Controller):
    """``POST /ui/logout`` (needs the session and its CSRF token)."""

    path = "/"
    include_in_schema = False

    @post("/logout", guards=[csrf_guard], status_code=303)
    async def sign_out(self, request: Request[Any, Any, Any], state: State) -> Redirect:
        current_session(request)
        r = get_resources(state)
        await sessions.delete(r.redis, r.settings.broker.namespace, request.cookies.get(COOKIE))
        return Redirect(
            LOGIN_PATH,
            status_code=303,
            cookies=[Cookie(key=COOKIE, value="", path="/ui", max_age=0, httponly=True)],
        )
