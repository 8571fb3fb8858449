"""What the clinic commands share: exit codes, the one-line error, signing in, output.

Used by ``sessions.cli_users``, ``sessions.cli_sessions`` and ``sessions.cli_save``
(``sessions.cli`` re-exports the public names). Exit codes as in ``app/cli.py``.
"""

from __future__ import annotations

import errno
import os
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import wraps
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from sessions.auth import Accounts, Principal

__all__ = ["ENV_ADMIN_PASSWORD", "ENV_NEW_PASSWORD", "ENV_PASSWORD", "EXIT_AUTH",
           "EXIT_BATCH_FAILED", "EXIT_INCOMPLETE", "EXIT_INPUT", "EXIT_MODEL", "EXIT_NOBODY",
           "EXIT_NOTHING_COUNTED", "EXIT_OUTPUT", "EXIT_SAFETY", "EXIT_USAGE", "CliError",
           "describe_failure"]

# The exit codes of the whole `stretch-coach` command (app/cli.py and app/jobs_cli.py
# import them from here; the database's own, 11-16, are in sessions/errors.py).
EXIT_USAGE = 2            # a wrong option, name or id
EXIT_INPUT = 3            # a video or definition that cannot be read
EXIT_MODEL = 4            # the pose model is not available
EXIT_INCOMPLETE = 5       # the video broke off part-way (what was read is reported)
EXIT_NOBODY = 6           # nobody could be assessed in the video
EXIT_AUTH = 7             # sign-in refused or not allowed
EXIT_NOTHING_COUNTED = 8  # the video was read but no repetition counted (the reason is said)
EXIT_OUTPUT = 9           # an output file could not be written (the message names it)
EXIT_SAFETY = 10          # the safety questions stop the session (red flag), or were not answered
EXIT_BATCH_FAILED = 17    # some videos of a batch failed (each one's reason is printed)

ENV_PASSWORD = "STRETCH_COACH_PASSWORD"
ENV_ADMIN_PASSWORD = "STRETCH_COACH_ADMIN_PASSWORD"
ENV_NEW_PASSWORD = "STRETCH_COACH_NEW_PASSWORD"


class CliError(click.ClickException):
    """A one-line error with its own exit code, printed as ``error: <message>``."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.exit_code = code

    def show(self, file: object = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def _show(text: Any) -> str:
    """Free text for a terminal: control characters (escape sequences...) made visible."""
    s = "" if text is None else str(text)
    return "".join(c if unicodedata.category(c) != "Cc" else repr(c)[1:-1] for c in s)


def _guard(fn: Callable) -> Callable:
    """Turn the service's exceptions into one-line errors with exit codes.

    Database failures get their own codes (``sessions.errors``: 11 unreachable,
    12 read-only, 13 disk full, 14 damaged, 15 newer schema, 16 bad URL or data path).
    """

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from sessions.auth import AccessDenied, AuthError

        try:
            return fn(*args, **kwargs)
        except CliError:
            raise
        except (AuthError, AccessDenied) as e:
            raise CliError(str(e), EXIT_AUTH) from None
        except Exception as e:
            failure = describe_failure(e)
            if failure is not None:
                raise failure from None
            if isinstance(e, ValueError):
                raise CliError(str(e).splitlines()[0] if str(e) else "bad value",
                               EXIT_USAGE) from None
            raise

    return wrapper


#: errors of writing an output whose file is not named (the terminal's output redirected
#: to a full disk, a closed pipe...)
_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EPIPE,
                  errno.EROFS, errno.EACCES, errno.EPERM}


def describe_failure(e: BaseException) -> CliError | None:
    """The one-line error of a database failure or of a file problem, or None.

    The database's descriptions (``sessions.errors``, exit codes 11-16) apply to its
    own errors and to file errors about its own path only
    (``sessions.errors.about_database``); any other file error names the file (or
    "the output") and its cause, with ``EXIT_OUTPUT``. None: neither (the caller
    says it was unexpected).
    """
    from sessions.errors import about_database, describe_db_error

    url = os.environ.get("STRETCH_COACH_DB_URL", "").strip() or None
    if about_database(e, url):
        problem = describe_db_error(e, url)
        return None if problem is None else CliError(problem.message, problem.exit_code)
    if not isinstance(e, OSError):
        return None
    cause = e.strerror or str(e)
    if e.filename is not None:
        return CliError(f"could not use {os.fsdecode(e.filename)}: {cause}", EXIT_OUTPUT)
    if e.errno in _OUTPUT_ERRNOS:
        return CliError(f"could not write the output: {cause}", EXIT_OUTPUT)
    return None


def _password(prompt: str, env: str, *, confirm: bool = False) -> str:
    value = os.environ.get(env)
    if value:
        return value
    try:
        return click.prompt(prompt, hide_input=True, confirmation_prompt=confirm,
                            err=True)
    except click.Abort:
        raise CliError(f"no password given (type it at the prompt or set {env})",
                       EXIT_USAGE) from None


def _accounts() -> Accounts:
    from sessions.auth import Accounts

    return Accounts()


@contextmanager
def _signed_in(username: str) -> Iterator[tuple[Accounts, Principal]]:
    """Log ``username`` in (password from prompt or $STRETCH_COACH_PASSWORD); log out after."""
    from sessions.auth import AuthError

    acc = _accounts()
    try:
        me = acc.login(username, _password(f"Password for {username}", ENV_PASSWORD))
    except AuthError as e:
        raise CliError(str(e), EXIT_AUTH) from None
    try:
        yield acc, me
    finally:
        acc.logout(me.token)


def _when(t: datetime | None) -> str:
    return "" if t is None else t.astimezone().strftime("%Y-%m-%d %H:%M")


def _patient_id(acc: Accounts, me: Principal, patient: str | None) -> int | None:
    return None if patient is None else acc.user_id(me, patient)
