"""`POST /api/v1/auth/token`: the OAuth2 password flow."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict

from gateway.auth.deps import TOKEN_URL
from gateway.auth.errors import InvalidCredentials
from gateway.auth.login import Lockout, check_password_login
from gateway.auth.tokens import AdminTokens
from gateway.settings import Settings
from gateway.users.models import Role
from services.common.errors import PROBLEM_MEDIA_TYPE, problem_responses


class TokenResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIs...",
                    "token_type": "bearer",
                    "expires_in": 900,
                }
            ]
        }
    )

    access_token: str
    token_type: str = "bearer"  # noqa: S105
    expires_in: int


_INVALID_CREDENTIALS: dict[str, Any] = {
    "description": "Wrong username or password, or a disabled or locked account (all alike)",
    "content": {
        PROBLEM_MEDIA_TYPE: {
            "schema": {"$ref": "#/components/schemas/Problem"},
            "example": InvalidCredentials().to_problem("/api/v1/auth/token"),
        }
    },
}


def auth_router(settings: Settings) -> APIRouter:
    router = APIRouter(tags=["auth"])
    lockout = Lockout(
        max_failures=settings.login_max_failures,
        window=timedelta(seconds=settings.login_failure_window_seconds),
        duration=timedelta(seconds=settings.login_lockout_seconds),
    )

    @router.post(
        TOKEN_URL,
        operation_id="login",
        summary="Log in: exchange a username and password for a bearer token",
        response_model=TokenResponse,
        responses={**problem_responses(413, 422), 401: _INVALID_CREDENTIALS},
    )
    def issue_token(
        request: Request,
        response: Response,
        form: Annotated[OAuth2PasswordRequestForm, Depends()],
    ) -> TokenResponse:
        """Wrong password, unknown user, disabled or locked account all answer 401 alike.

        After `SHARELINE_LOGIN_MAX_FAILURES` wrong passwords within the failure window
        the account is locked for `SHARELINE_LOGIN_LOCKOUT_SECONDS`.
        """
        user = check_password_login(request.app.state.engine, form.username, form.password, lockout)
        tokens: AdminTokens = request.app.state.admin_tokens
        token = tokens.issue(user.username, Role(user.role), user.token_version)
        response.headers["Cache-Control"] = "no-store"
        return TokenResponse(access_token=token, expires_in=tokens.ttl_seconds)

    return router
