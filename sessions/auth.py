"""Accounts, passwords and signed-in sessions.

Roles (one per account):

- ``therapist``: prescribes programs and reviews the sessions of *their own*
  patients (``users.therapist_id``); can create patient accounts, which are
  assigned to them.
- ``patient``: sees and records only their own program and sessions.
- ``admin``: manages accounts (creates users, assigns patients to therapists,
  lists accounts) but reads **no clinical data**: no sessions, scores, pain,
  flags or programs. A person who is both an administrator and a therapist has
  two accounts; the therapist account carries the clinical access. This keeps
  the account-management role out of the records (least privilege) and every
  clinical read attributable to the clinician who made it.

Passwords (``PASSWORD_RULES``, shown to people where they choose one): at least
10 characters, at most 1024, at least 5 different characters and two kinds
(letters, digits, spaces or symbols), not a common password (a small built-in
list, also with digits and symbols around it), not the username. Hashed with
argon2id (argon2-cffi defaults), rehashed on login when the parameters change;
never stored, logged or shown in plain text. Logins: 5 failures for a username
(known or not) within 15 minutes lock it for 15 minutes; while locked no password
is checked. A login returns a ``Principal`` holding a random token
(``secrets.token_urlsafe(32)``); only its SHA-256 is stored, and it expires
after 8 h without use (configurable: ``idle_timeout`` or ``$STRETCH_COACH_LOGIN_IDLE_MINUTES``).

Usernames are NFKC-normalised (full-width and compatibility forms folded), at
most 150 characters, and unique regardless of case. Usernames and display names
refuse control, format (right-to-left overrides, zero-width characters),
private-use and unassigned characters, which would make a name display as
someone else's; otherwise they are free text, shown only as text. A username
that could never exist (too long, forbidden characters) is refused before any
database access, so sign-in attempts can't grow the database or reach it with
oversized values.

The rules themselves (usernames, the password policy, token hashing) are pure
functions in ``sessions.credentials``; signing in (the password check, lockout,
login tokens, ``AuthError``, ``Principal``) is ``sessions.logins.Logins``, the
base of ``Accounts``. Their public names are re-exported here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sessions.checks import as_id
from sessions.credentials import (
    MAX_USERNAME,
    MIN_PASSWORD_LENGTH,
    PASSWORD_RULES,
    PasswordPolicyError,
    _clean_text,
    _lookup_key,
    _token_hash,
    _username_key,
    check_password_policy,
    clean_username,
)
from sessions.logins import (
    IDLE_TIMEOUT,
    LOCKOUT,
    MAX_FAILURES,
    AuthError,
    Clock,
    Logins,
    Principal,
    _short,
    utcnow,
)
from sessions.models import ROLES, LoginSession, LoginThrottle, User

__all__ = [
    "IDLE_TIMEOUT",
    "LOCKOUT",
    "MAX_FAILURES",
    "MAX_USERNAME",
    "MIN_PASSWORD_LENGTH",
    "PASSWORD_RULES",
    "AccessDenied",
    "Accounts",
    "AuthError",
    "Clock",
    "PasswordPolicyError",
    "Principal",
    "UserInfo",
    "check_password_policy",
    "utcnow",
]

log = logging.getLogger(__name__)

MAX_DISPLAY_NAME = 200


class AccessDenied(Exception):  # noqa: N818 - the contract's name
    """Signed in, but this principal may not do or see that (or it does not exist)."""


@dataclass(frozen=True)
class UserInfo:
    """An account as an admin sees it (no password material)."""

    id: int
    username: str
    display_name: str
    role: str
    therapist_id: int | None
    therapist_username: str | None
    active: bool
    created_at: datetime
    locked_until: datetime | None


class Accounts(Logins):
    """Account management and login.

    Signing in (``login``, ``resume``, ``logout``) and the constructor, with its
    arguments (engine, clock, idle timeout, lockout, hasher), come from
    ``sessions.logins.Logins``; this class adds the accounts themselves.
    """

    # ------------------------------------------------------------------ accounts

    def any_accounts(self) -> bool:
        """Whether any account exists (the app offers to create an admin when not)."""
        with self._begin() as s:
            return s.scalar(select(func.count()).select_from(User)) > 0

    def create_admin(self, username: str, password: str) -> int:
        """Create the first admin account (bootstrap) and return its id.

        Raises:
            AccessDenied: an admin already exists (admins create further admins
                with ``create_user``).
            ValueError: bad username or password (``PasswordPolicyError``).
        """
        with self._begin() as s, s.begin():
            if s.scalar(select(func.count()).select_from(User).where(User.role == "admin")):
                raise AccessDenied("an admin account already exists; sign in as an admin to "
                                   "create more")
            return self._insert_user(s, username, password, "admin", "", None)

    def create_user(self, actor: Principal, username: str, password: str, role: str,
                    display_name: str = "", therapist_id: int | None = None) -> int:
        """Create an account and return its id.

        Admins create any role. Therapists create patients only, assigned to
        themselves. Patients create nothing.

        Raises:
            AuthError: ``actor`` is not signed in.
            AccessDenied: ``actor`` may not create this account.
            ValueError: bad role, username, display name, password or therapist.
        """
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
        with self._begin() as s, s.begin():
            who = self._actor(s, actor)
            if who.role == "therapist":
                if role != "patient":
                    raise AccessDenied("therapists can create patient accounts only")
                if therapist_id not in (None, who.user_id):
                    raise AccessDenied("therapists can create patients for themselves only")
                therapist_id = who.user_id
            elif who.role != "admin":
                raise AccessDenied("only admins and therapists can create accounts")
            if therapist_id is not None:
                if role != "patient":
                    raise ValueError("only patient accounts have a therapist")
                self._require_therapist(s, therapist_id)
            new_id = self._insert_user(s, username, password, role, display_name, therapist_id)
        log.info("user %s created account %s (%s)", who.user_id, new_id, role)
        return new_id

    def _require_therapist(self, s: Session, therapist_id: int) -> User:
        t = s.get(User, as_id(therapist_id, "account"))
        if t is None or t.role != "therapist" or not t.active:
            raise ValueError(f"no active therapist account with id {therapist_id}")
        return t

    def _insert_user(self, s: Session, username: str, password: str, role: str,
                     display_name: str, therapist_id: int | None) -> int:
        username = clean_username(username)
        display_name = _clean_text(display_name or username, "display name", MAX_DISPLAY_NAME)
        check_password_policy(password, username)
        key = _username_key(username)
        if s.scalar(select(User.id).where(User.username_key == key)) is not None:
            raise ValueError("that username is already taken")
        now = self._now()
        user = User(username=username, username_key=key, display_name=display_name, role=role,
                    password_hash=self._hash(password), therapist_id=therapist_id, active=True,
                    video_opt_in=False, created_at=now, password_changed_at=now)
        s.add(user)
        try:
            s.flush()
        except IntegrityError:
            raise ValueError("that username is already taken") from None
        return int(user.id)

    def list_users(self, actor: Principal) -> list[UserInfo]:
        """Every account (admins only), by role then username."""
        with self._begin() as s, s.begin():
            who = self._actor(s, actor)
            if who.role != "admin":
                raise AccessDenied("only admins can list accounts")
            users = s.scalars(select(User).order_by(User.role, User.username_key)).all()
            names = {u.id: u.username for u in users}
            locks = {t.username_key: t.locked_until for t in s.scalars(select(LoginThrottle))}
            now = self._now()
            return [UserInfo(u.id, u.username, u.display_name, u.role, u.therapist_id,
                             names.get(u.therapist_id), u.active, u.created_at,
                             lk if (lk := locks.get(u.username_key)) and lk > now else None)
                    for u in users]

    def set_therapist(self, actor: Principal, patient_id: int, therapist_id: int | None) -> None:
        """Assign a patient to a therapist, or unassign with None (admins only)."""
        with self._begin() as s, s.begin():
            who = self._actor(s, actor)
            if who.role != "admin":
                raise AccessDenied("only admins can assign patients to therapists")
            patient = s.get(User, as_id(patient_id, "account"))
            if patient is None or patient.role != "patient":
                raise ValueError(f"no patient account with id {patient_id}")
            if therapist_id is not None:
                self._require_therapist(s, therapist_id)
            patient.therapist_id = None if therapist_id is None else int(therapist_id)
        log.info("admin %s assigned patient %s to therapist %s", who.user_id, patient_id,
                 therapist_id)

    def set_active(self, actor: Principal, user_id: int, active: bool) -> None:
        """Enable or disable an account (admins only); disabling ends its logins."""
        with self._begin() as s, s.begin():
            who = self._actor(s, actor)
            if who.role != "admin":
                raise AccessDenied("only admins can enable or disable accounts")
            if as_id(user_id, "account") == who.user_id and not active:
                raise ValueError("you cannot disable your own account")
            user = s.get(User, as_id(user_id, "account"))
            if user is None:
                raise ValueError(f"no account with id {user_id}")
            user.active = bool(active)
            if not active:
                s.execute(delete(LoginSession).where(LoginSession.user_id == user.id))

    def user_id(self, actor: Principal, username: str) -> int:
        """The id of ``username`` if ``actor`` may address that account.

        Admins: any account. Therapists: themselves and their own patients.
        Patients: themselves only. Otherwise (or unknown) ``AccessDenied``, so
        the answer never tells whether someone else's account exists.
        """
        key = _lookup_key(username)
        with self._begin() as s, s.begin():
            who = self._actor(s, actor)
            u = s.scalars(select(User).where(User.username_key == key)).first() \
                if key is not None else None
            ok = u is not None and (
                who.role == "admin" or u.id == who.user_id
                or (who.role == "therapist" and u.role == "patient"
                    and u.therapist_id == who.user_id))
            if not ok:
                raise AccessDenied(f"no account {_short(username)} that you can access")
            return int(u.id)

    def change_password(self, actor: Principal, old_password: str, new_password: str) -> None:
        """Change the signed-in user's own password; other logins of the account end."""
        with self._begin() as s, s.begin():
            who = self._actor(s, actor)
            user = s.get(User, who.user_id)
            if not self._verify(user.password_hash, old_password):
                raise AuthError("the current password is wrong")
            check_password_policy(new_password, user.username)
            user.password_hash = self._hash(new_password)
            user.password_changed_at = self._now()
            s.execute(delete(LoginSession).where(
                LoginSession.user_id == user.id,
                LoginSession.token_hash != _token_hash(actor.token)))

    def reset_password(self, actor: Principal, user_id: int, new_password: str) -> None:
        """Set another account's password (admins only); ends its logins and lockout."""
        with self._begin() as s, s.begin():
            who = self._actor(s, actor)
            if who.role != "admin":
                raise AccessDenied("only admins can reset passwords")
            user = s.get(User, as_id(user_id, "account"))
            if user is None:
                raise ValueError(f"no account with id {user_id}")
            check_password_policy(new_password, user.username)
            user.password_hash = self._hash(new_password)
            user.password_changed_at = self._now()
            s.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
            s.execute(delete(LoginThrottle).where(LoginThrottle.username_key == user.username_key))
        log.info("admin %s reset the password of account %s", who.user_id, user_id)
