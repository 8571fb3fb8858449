"""``stretch-coach users ...``: accounts (admins; therapists for their own patients).

Signed in as ``--as-admin`` (or ``--user``); new passwords from a hidden prompt or
``$STRETCH_COACH_NEW_PASSWORD`` / ``$STRETCH_COACH_ADMIN_PASSWORD``
(``sessions.cli`` has the whole picture).
"""

from __future__ import annotations

import click

from sessions.cli_common import (
    ENV_ADMIN_PASSWORD,
    ENV_NEW_PASSWORD,
    ENV_PASSWORD,
    EXIT_USAGE,
    CliError,
    _accounts,
    _guard,
    _password,
    _show,
    _signed_in,
    _when,
)

__all__ = ["users"]

# --------------------------------------------------------------------------- users


@click.group("users")
def users() -> None:
    """Accounts: create the first admin, create therapists and patients, list accounts.

    \b
    stretch-coach users create-admin --username ADMIN
    stretch-coach users create --role therapist --username T --as-admin ADMIN
    stretch-coach users create --role patient --username P --therapist T --as-admin ADMIN
    stretch-coach users list --as-admin ADMIN
    stretch-coach users reset-password --username P --as-admin ADMIN
    """


@users.command("create-admin")
@click.option("--username", required=True, help="The admin's username.")
@_guard
def create_admin_cmd(username: str) -> None:
    """Create the first admin account (password: prompt twice, or $STRETCH_COACH_ADMIN_PASSWORD)."""
    acc = _accounts()
    password = _password(f"New password for {username}", ENV_ADMIN_PASSWORD, confirm=True)
    new_id = acc.create_admin(username, password)
    click.echo(f"created admin {_show(username)} (id {new_id})")


@users.command("create")
@click.option("--role", type=click.Choice(["therapist", "patient", "admin"]), required=True)
@click.option("--username", required=True, help="The new account's username (free text).")
@click.option("--display-name", default="", help="Name shown to people (default: username).")
@click.option("--therapist", "therapist", default=None,
              help="Username of the patient's therapist.")
@click.option("--as-admin", "--user", "acting", required=True,
              help="Admin (or therapist, for their own patients) creating the account; "
                   f"password: prompt or ${ENV_PASSWORD}.")
@_guard
def create_cmd(role: str, username: str, display_name: str, therapist: str | None,
               acting: str) -> None:
    """Create an account (new password: prompt twice, or $STRETCH_COACH_NEW_PASSWORD)."""
    with _signed_in(acting) as (acc, me):
        therapist_id = acc.user_id(me, therapist) if therapist else None
        if role != "patient" and therapist_id is not None:
            raise CliError("--therapist is for patient accounts only", EXIT_USAGE)
        password = _password(f"New password for {username}", ENV_NEW_PASSWORD, confirm=True)
        new_id = acc.create_user(me, username, password, role, display_name, therapist_id)
    click.echo(f"created {role} {_show(username)} (id {new_id})")


@users.command("assign")
@click.option("--patient", required=True, help="Patient username.")
@click.option("--therapist", default=None, help="Therapist username (omit to unassign).")
@click.option("--as-admin", "--user", "acting", required=True, help="Admin username.")
@_guard
def assign_cmd(patient: str, therapist: str | None, acting: str) -> None:
    """Assign a patient to a therapist (admins)."""
    with _signed_in(acting) as (acc, me):
        pid = acc.user_id(me, patient)
        tid = acc.user_id(me, therapist) if therapist else None
        acc.set_therapist(me, pid, tid)
    click.echo(f"{_show(patient)} -> {_show(therapist) if therapist else 'no therapist'}")


@users.command("reset-password")
@click.option("--username", required=True, help="Account whose password is reset.")
@click.option("--as-admin", "--user", "acting", required=True, help="Admin username.")
@_guard
def reset_password_cmd(username: str, acting: str) -> None:
    """Set a new password for an account (new password: prompt twice, or
    $STRETCH_COACH_NEW_PASSWORD); its logins end and any lockout is lifted."""
    with _signed_in(acting) as (acc, me):
        uid = acc.user_id(me, username)
        password = _password(f"New password for {username}", ENV_NEW_PASSWORD, confirm=True)
        acc.reset_password(me, uid, password)
    click.echo(f"password of {_show(username)} reset")


@users.command("list")
@click.option("--as-admin", "--user", "acting", required=True, help="Admin username.")
@_guard
def list_cmd(acting: str) -> None:
    """List every account (admins)."""
    with _signed_in(acting) as (acc, me):
        rows = acc.list_users(me)
    for u in rows:
        extra = f"  therapist: {_show(u.therapist_username)}" if u.therapist_username else ""
        state = "" if u.active else "  [disabled]"
        lock = f"  [locked until {_when(u.locked_until)}]" if u.locked_until else ""
        click.echo(f"{u.id:>4}  {u.role:<9}  {_show(u.username)}  ({_show(u.display_name)})"
                   f"{extra}{state}{lock}")
