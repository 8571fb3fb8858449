"""Signing in: password checks, lockout, login tokens and their idle expiry.

``Logins`` is the base of ``sessions.auth.Accounts``: it holds the engine,
clock, hasher and limits, checks a password against its argon2id hash (an
unknown user costs the same time), starts a login (``login``), resumes one from
its token (``resume``, refreshing the idle timer) and ends it (``logout``).
The rules themselves are described in ``sessions.auth``'s docstring; the public
names here (``AuthError``, ``Principal``, ``Clock``, ``utcnow``) are re-exported
by ``sessions.auth``, which callers import them from.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from sessions.credentials import MAX_PASSWORD_LENGTH, _lookup_key, _token_hash
from sessions.db import ensure_schema, get_engine
from sessions.models import LoginSession, LoginThrottle, User

__all__ = [
    "IDLE_TIMEOUT",
    "LOCKOUT",
    "MAX_FAILURES",
    "AuthError",
    "Clock",
    "Logins",
    "Principal",
    "utcnow",
]

# the same logger as the rest of the accounts code (``sessions.auth``)
log = logging.getLogger("sessions.auth")

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
IDLE_TIMEOUT = timedelta(hours=8)
_TOUCH_EVERY = timedelta(seconds=30)   # refresh last_seen at most this often

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


class AuthError(Exception):
    """Not signed in: wrong credentials, locked account, unknown or expired login."""


@dataclass(frozen=True)
class Principal:
    """Who is signed in. ``token`` identifies the login; it is never shown in reprs."""

    user_id: int
    username: str
    role: str
    display_name: str
    token: str = field(repr=False)


def _short(text: object, n: int = 40) -> str:
    s = repr(text)
    return s if len(s) <= n else s[:n] + "…"


def _fmt(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _idle_from_env() -> timedelta:
    raw = os.environ.get("STRETCH_COACH_LOGIN_IDLE_MINUTES", "").strip()
    if not raw:
        return IDLE_TIMEOUT
    try:
        minutes = float(raw)
    except ValueError:
        raise ValueError(f"STRETCH_COACH_LOGIN_IDLE_MINUTES: expected minutes, got {raw!r}") \
            from None
    if minutes <= 0:
        raise ValueError("STRETCH_COACH_LOGIN_IDLE_MINUTES must be positive")
    return timedelta(minutes=minutes)


def _idle_text(idle: timedelta) -> str:
    minutes = idle.total_seconds() / 60
    return f"{minutes / 60:g} h" if minutes >= 60 else f"{minutes:g} min"


class Logins:
    """Login and the checks every signed-in call starts with (the base of ``Accounts``).

    Args:
        engine: database engine (default: ``get_engine()``); the schema is upgraded once.
        clock: returns the current aware UTC time (tests inject one).
        idle_timeout: a login expires after this long unused (default 8 h or
            ``$STRETCH_COACH_LOGIN_IDLE_MINUTES``).
        max_failures: failed logins before a username is locked.
        lockout: how long it stays locked (also the window failures are counted in).
        hasher: an ``argon2.PasswordHasher`` (default parameters when None).
    """

    def __init__(self, engine: Engine | None = None, *, clock: Clock | None = None,
                 idle_timeout: timedelta | None = None, max_failures: int = MAX_FAILURES,
                 lockout: timedelta = LOCKOUT, hasher: PasswordHasher | None = None) -> None:
        self.engine = engine if engine is not None else get_engine()
        ensure_schema(self.engine)
        self.clock: Clock = clock or utcnow
        self.idle_timeout = idle_timeout or _idle_from_env()
        self.max_failures = max_failures
        self.lockout = lockout
        self._hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None

    # ------------------------------------------------------------------ helpers

    def _now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("clock must return an aware datetime")
        return now

    def _hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def _verify(self, stored: str | None, password: str) -> bool:
        if stored is None:  # unknown user: spend the same time, then fail
            if self._dummy_hash is None:
                self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))
            stored = self._dummy_hash
            password = password + "\x00never"
        try:
            return self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _principal_for(self, s: Session, token: str) -> Principal:
        """The principal of a valid ``token`` (refreshing its idle timer)."""
        if not isinstance(token, str) or not token:
            raise AuthError("not signed in")
        now = self._now()
        row = s.scalars(select(LoginSession).where(
            LoginSession.token_hash == _token_hash(token))).first()
        if row is None:
            raise AuthError("not signed in (unknown or ended login); sign in again")
        idle = timedelta(seconds=row.idle_timeout_s)
        if now >= row.expires_at:
            raise AuthError(f"login expired after {_idle_text(idle)} without use; sign in again")
        user = s.get(User, row.user_id)
        if user is None or not user.active:
            raise AuthError("this account is disabled")
        if now - row.last_seen_at > _TOUCH_EVERY:
            row.last_seen_at = now
            row.expires_at = now + idle
        return Principal(user.id, user.username, user.role, user.display_name, token)

    def _actor(self, s: Session, actor: Principal) -> Principal:
        if not isinstance(actor, Principal):
            raise AuthError("not signed in")
        return self._principal_for(s, actor.token)

    def _begin(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # ------------------------------------------------------------------ logins

    def login(self, username: str, password: str) -> Principal:
        """Check the password and start a login.

        Raises:
            AuthError: wrong username or password (same message for both), a
                locked username (the message says until when), or a disabled account.
        """
        key = _lookup_key(username) or ""
        if not isinstance(password, str):
            password = ""
        if not key or len(password) > MAX_PASSWORD_LENGTH:
            # no account can have this name (too long, invisible characters...), or no
            # password can be this long: refused before any database access
            log.info("login refused for an impossible username or password (%d characters)",
                     len(username) if isinstance(username, str) else 0)
            self._verify(None, "")     # about the time a real check takes
            raise AuthError("wrong username or password")
        now = self._now()
        # one transaction, committed before any AuthError below: failures are counted
        with self._begin() as s, s.begin():
            throttle = s.get(LoginThrottle, key)
            if throttle is not None and throttle.locked_until and throttle.locked_until > now:
                log.info("login refused for %s: locked until %s", _short(username),
                            _fmt(throttle.locked_until))
                raise AuthError(f"too many failed logins: this account is locked until "
                                f"{_fmt(throttle.locked_until)}")
            user = s.scalars(select(User).where(User.username_key == key)).first() \
                if key else None
            ok = self._verify(user.password_hash if user is not None else None, password)
            if ok and user.active:
                if throttle is not None:
                    s.delete(throttle)
                if self._hasher.check_needs_rehash(user.password_hash):
                    user.password_hash = self._hash(password)
                token = secrets.token_urlsafe(32)
                # housekeeping: forget expired logins
                s.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
                s.add(LoginSession(user_id=user.id, token_hash=_token_hash(token),
                                   created_at=now, last_seen_at=now,
                                   expires_at=now + self.idle_timeout,
                                   idle_timeout_s=int(self.idle_timeout.total_seconds())))
                principal = Principal(user.id, user.username, user.role, user.display_name,
                                      token)
            else:
                principal = None
                locked_until = self._record_failure(s, key, now) if key else None
        if principal is not None:
            log.info("login ok: user %s (%s)", principal.user_id, principal.role)
            return principal
        log.info("failed login for %s", _short(username))
        if ok and user is not None and not user.active:
            raise AuthError("this account is disabled")
        if locked_until is not None:
            raise AuthError(f"wrong username or password; too many failed logins: this account "
                            f"is locked until {_fmt(locked_until)}")
        raise AuthError("wrong username or password")

    def _record_failure(self, s: Session, key: str, now: datetime) -> datetime | None:
        row = s.get(LoginThrottle, key)
        if row is None:
            row = LoginThrottle(username_key=key, failures=0)
            s.add(row)
        elif row.last_failure_at is None or now - row.last_failure_at > self.lockout or (
                row.locked_until is not None and row.locked_until <= now):
            row.failures = 0      # old failures and served lockouts are forgotten
            row.locked_until = None
        row.failures += 1
        row.last_failure_at = now
        if row.failures >= self.max_failures:
            row.locked_until = now + self.lockout
        return row.locked_until

    def resume(self, token: str) -> Principal:
        """The principal of a login token (refreshes its idle timer).

        Raises:
            AuthError: unknown, ended or expired login, or a disabled account.
        """
        with self._begin() as s, s.begin():
            return self._principal_for(s, token)

    def logout(self, token: str) -> None:
        """End a login (unknown tokens are ignored)."""
        with self._begin() as s, s.begin():
            s.execute(delete(LoginSession).where(LoginSession.token_hash == _token_hash(token)))
