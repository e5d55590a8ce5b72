"""Administrator accounts: create, change, remove, and keep one admin always.

UserNotFound (404)   the account does not exist
UsernameTaken (409)  another account has this username
LastAdmin (409)      the change would leave no enabled admin
CurrentPasswordWrong (403)  changing one's own password needs the current one
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gateway.auth.errors import InsufficientRole
from gateway.auth.passwords import hash_password, verify_password
from gateway.users.models import PasswordChange, Role, User, UserCreate, UserUpdate, utcnow
from services.common.errors import Conflict, Forbidden, NotFound


class UserNotFound(NotFound):
    slug = "user-not-found"


class UsernameTaken(Conflict):
    slug = "username-taken"


class LastAdmin(Conflict):
    slug = "last-admin"


class CurrentPasswordWrong(Forbidden):
    slug = "current-password-wrong"


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.username))).all())


def get_user(session: Session, username: str, *, lock: bool = False) -> User:
    query = select(User).where(User.username == username)
    user = session.exec(query.with_for_update() if lock else query).first()
    if user is None:
        raise UserNotFound(f"user {username} does not exist")
    return user


def create_user(session: Session, data: UserCreate) -> User:
    if session.exec(select(User.id).where(User.username == data.username)).first() is not None:
        raise UsernameTaken(f"user {data.username} already exists")
    user = User(username=data.username, password_hash=hash_password(data.password), role=data.role)
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent create won the race
        raise UsernameTaken(f"user {data.username} already exists") from exc
    return user


def _enabled_admins(session: Session) -> int:
    # Row locks on every admin so two concurrent demotions cannot both pass.
    rows = session.exec(
        select(User.id)
        .where(User.role == Role.admin.value, col(User.disabled).is_(False))
        .with_for_update()
    ).all()
    return len(rows)


def _keep_an_admin(session: Session, user: User, *, role: Role, disabled: bool) -> None:
    was_enabled_admin = user.role == Role.admin.value and not user.disabled
    stays = role == Role.admin and not disabled
    if was_enabled_admin and not stays and _enabled_admins(session) <= 1:
        raise LastAdmin(f"{user.username} is the last enabled admin")


def _set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.token_version += 1
    user.failed_logins, user.first_failed_at, user.locked_until = 0, None, None


def _check_current_password(user: User, acting: str, current: str | None) -> None:
    if user.username == acting and not verify_password(user.password_hash, current or ""):
        raise CurrentPasswordWrong("the current password is missing or wrong")


def update_user(
    session: Session, username: str, data: UserUpdate, *, acting: str, acting_role: Role
) -> User:
    """PATCH. Non-admins reach here only for their own account, and only its password."""
    user = get_user(session, username, lock=True)
    changes = data.model_dump(exclude_unset=True, exclude={"current_password"})
    if acting_role != Role.admin and set(changes) - {"password"}:
        raise InsufficientRole(acting_role.value, Role.admin.value)
    role = data.role if data.role is not None else Role(user.role)
    disabled = data.disabled if data.disabled is not None else user.disabled
    _keep_an_admin(session, user, role=role, disabled=disabled)
    if data.password is not None:
        _check_current_password(user, acting, data.current_password)
        _set_password(user, data.password)
    user.role, user.disabled, user.updated_at = role.value, disabled, utcnow()
    session.add(user)
    return user


def change_password(session: Session, username: str, data: PasswordChange, *, acting: str) -> User:
    """PUT: anyone may set their own password (with the current one); admins anyone's."""
    user = get_user(session, username, lock=True)
    _check_current_password(user, acting, data.current_password)
    _set_password(user, data.password)
    user.updated_at = utcnow()
    session.add(user)
    return user


def delete_user(session: Session, username: str) -> None:
    user = get_user(session, username, lock=True)
    _keep_an_admin(session, user, role=Role.viewer, disabled=True)
    session.delete(user)
