"""`/api/v1/users`: administrator accounts. Access is decided by gateway.permissions."""

from __future__ import annotations

from fastapi import APIRouter, status

from gateway.auth.deps import SignedIn
from gateway.permissions import USERS_PREFIX
from gateway.users import service
from gateway.users.models import PasswordChange, User, UserCreate, UserPublic, UserUpdate
from services.common.deps import SessionDep
from services.common.errors import problem_responses


def _public(user: User) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)


def users_router() -> APIRouter:
    router = APIRouter(prefix=USERS_PREFIX, tags=["users"])

    @router.get(
        "",
        operation_id="list_users",
        summary="List administrator accounts",
        response_model=list[UserPublic],
    )
    def list_users(_: SignedIn, session: SessionDep) -> list[UserPublic]:
        return [_public(u) for u in service.list_users(session)]

    @router.post(
        "",
        operation_id="create_user",
        summary="Create an administrator account",
        status_code=status.HTTP_201_CREATED,
        response_model=UserPublic,
        responses=problem_responses(409, 422),
    )
    def create_user(_: SignedIn, body: UserCreate, session: SessionDep) -> UserPublic:
        return _public(service.create_user(session, body))

    @router.get(
        "/{username}",
        operation_id="get_user",
        summary="One account (admins: any; everyone: their own)",
        response_model=UserPublic,
        responses=problem_responses(404),
    )
    def get_user(_: SignedIn, username: str, session: SessionDep) -> UserPublic:
        return _public(service.get_user(session, username))

    @router.patch(
        "/{username}",
        operation_id="update_user",
        summary="Change role, disabled flag or password",
        response_model=UserPublic,
        responses=problem_responses(404, 409, 422),
    )
    def update_user(
        principal: SignedIn, username: str, body: UserUpdate, session: SessionDep
    ) -> UserPublic:
        """Admins change any account. Anyone may change their own password, giving
        `current_password`; changing a password ends the account's earlier tokens."""
        user = service.update_user(
            session, username, body, acting=principal.username, acting_role=principal.role
        )
        return _public(user)

    @router.put(
        "/{username}",
        operation_id="set_password",
        summary="Set an account's password (e.g. PUT /api/v1/users/admin)",
        response_model=UserPublic,
        responses=problem_responses(404, 422),
    )
    def set_password(
        principal: SignedIn, username: str, body: PasswordChange, session: SessionDep
    ) -> UserPublic:
        """One's own password needs `current_password`; an admin resets anyone's without."""
        return _public(service.change_password(session, username, body, acting=principal.username))

    @router.delete(
        "/{username}",
        operation_id="delete_user",
        summary="Remove an account",
        status_code=status.HTTP_204_NO_CONTENT,
        responses=problem_responses(404, 409),
    )
    def delete_user(_: SignedIn, username: str, session: SessionDep) -> None:
        service.delete_user(session, username)

    return router
