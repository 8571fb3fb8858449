"""``stretch-coach users ...`` and ``stretch-coach sessions ...``: accounts and the clinic.

Every command that reads or writes clinic data signs in as an account
(``--user``; ``--as-admin`` for account management) and goes through
``sessions.service.Clinic`` / ``sessions.auth.Accounts``, which authorize
every request; the command logs out when it ends. Passwords are read from a
hidden prompt or from the environment, never from the command line:

- ``STRETCH_COACH_PASSWORD``: the acting user's password;
- ``STRETCH_COACH_ADMIN_PASSWORD``: the first admin's password (``create-admin``);
- ``STRETCH_COACH_NEW_PASSWORD``: a new account's password (``users create``).

The database is ``$STRETCH_COACH_DB_URL`` or the default SQLite file.
Exit codes as in ``app/cli.py``: 2 bad arguments, 3 bad input (unreadable
database, output folder missing), 7 authentication failed or access denied.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from sessions.auth import Accounts, Principal

__all__ = ["EXIT_AUTH", "EXIT_SAFETY", "AnalysisSaver", "prepare_save", "sessions_group", "users"]

EXIT_USAGE = 2     # the same codes as app/cli.py
EXIT_INPUT = 3
EXIT_AUTH = 7
EXIT_OUTPUT = 9    # an output file could not be written (the message names it)
EXIT_SAFETY = 10   # the safety questions stop the session (red flag), or were not answered

ENV_PASSWORD = "STRETCH_COACH_PASSWORD"
ENV_ADMIN_PASSWORD = "STRETCH_COACH_ADMIN_PASSWORD"
ENV_NEW_PASSWORD = "STRETCH_COACH_NEW_PASSWORD"


class CliError(click.ClickException):
    """A one-line error with its own exit code (printed like app/cli.py's)."""

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
            problem = _db_problem(e)
            if problem is not None:
                raise CliError(problem.message, problem.exit_code) from None
            if isinstance(e, ValueError):
                raise CliError(str(e).splitlines()[0] if str(e) else "bad value",
                               EXIT_USAGE) from None
            raise

    return wrapper


def _db_problem(e: BaseException) -> Any:
    from sessions.errors import describe_db_error

    url = os.environ.get("STRETCH_COACH_DB_URL", "").strip() or None
    return describe_db_error(e, url)


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


def _day(value: datetime | None) -> date | None:
    return None if value is None else value.date()


_DATE = click.DateTime(formats=["%Y-%m-%d"])
_USER = click.option("--user", "-u", "username", required=True,
                     help=f"Account to act as (password: prompt or ${ENV_PASSWORD}).")

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


# --------------------------------------------------------------------------- sessions


@click.group("sessions")
def sessions_group() -> None:
    """Saved sessions of patients: list, show, export (signed in with --user).

    \b
    stretch-coach sessions list --user THERAPIST [--patient P] [--since 2025-01-01]
    stretch-coach sessions show 12 --user THERAPIST
    stretch-coach sessions export --patient P --csv s.csv --pdf report.pdf --user THERAPIST
    stretch-coach sessions export --patient P --handout program.pdf --user THERAPIST
    """


@contextmanager
def _clinic(username: str) -> Iterator[tuple[Any, Accounts, Principal]]:
    from sessions.service import Clinic

    with _signed_in(username) as (acc, me):
        yield Clinic(me, acc.engine), acc, me


def _patient_id(acc: Accounts, me: Principal, patient: str | None) -> int | None:
    return None if patient is None else acc.user_id(me, patient)


@sessions_group.command("list")
@_USER
@click.option("--patient", default=None, help="Patient username (therapists: default all).")
@click.option("--since", type=_DATE, default=None, help="From this date (YYYY-MM-DD).")
@click.option("--until", type=_DATE, default=None, help="Up to this date, included.")
@click.option("--exercise", default=None, help="Only this stretch id.")
@_guard
def sessions_list_cmd(username: str, patient: str | None, since: datetime | None,
                      until: datetime | None, exercise: str | None) -> None:
    """List sessions, newest first."""
    with _clinic(username) as (clinic, acc, me):
        pid = _patient_id(acc, me, patient)
        rows = clinic.sessions(pid, _day(since), _day(until), exercise)
        names = {}
        if me.role == "therapist":
            names = {p.id: p.username for p in clinic.patients()}
    if not rows:
        click.echo("no sessions")
        return
    for r in rows:
        who = f"{_show(names.get(r.patient_id, ''))}  " if names else ""
        score = "  -" if r.score is None else f"{r.score:3.0f}"
        pain = ("" if r.pain_before is None and r.pain_after is None else
                f"  pain {'' if r.pain_before is None else r.pain_before}->"
                f"{'' if r.pain_after is None else r.pain_after}")
        click.echo(f"{r.id:>5}  {_when(r.created_at)}  {who}{_show(r.exercise_name)} "
                   f"({','.join(r.sides)})  {r.completion:<11} score {score}  "
                   f"reps {r.reps}{pain}")


@sessions_group.command("show")
@click.argument("session_id", type=int)
@_USER
@_guard
def sessions_show_cmd(session_id: int, username: str) -> None:
    """Show one session: reps, faults, notes."""
    with _clinic(username) as (clinic, _acc, _me):
        d = clinic.session(session_id)
    score = "-" if d.score is None else f"{d.score:.0f}"
    click.echo(f"session {d.id}: {_show(d.exercise_name)} ({', '.join(d.sides)}), {d.source}, "
               f"{_when(d.started_at or d.created_at)}; {d.completion}"
               + (f" ({_show(d.abandon_reason)})" if d.abandon_reason else "")
               + f"; score {score}; reps {d.reps}")
    if d.pain_before is not None or d.pain_after is not None:
        click.echo(f"pain before {d.pain_before}, after {d.pain_after}")
    if d.comment:
        click.echo(f"patient comment: {_show(d.comment)}")
    target = f" target {d.target[0]:g}-{d.target[1]:g}" if d.target else ""
    for r in d.reps_rows:
        peak = "-" if r.peak is None else f"{r.peak:g}"
        hold = f" hold {r.hold_s:.1f}/{r.hold_required_s:g}s" if r.hold_required_s else ""
        rs = "-" if r.score is None else f"{r.score:.0f}"
        faults = f" faults: {', '.join(r.faults)}" if r.faults else ""
        click.echo(f"  {r.side:<5} rep {r.index}: peak {peak}{target}{hold} score {rs}"
                   f"{'' if r.complete else ' (incomplete)'}{faults}")
    for f in d.faults:
        click.echo(f"  fault {f.fault} ({f.side}) {f.start_s}-{f.end_s}s: {_show(f.cue)}")
    for n in d.notes:
        click.echo(f"  note by {_show(n.author_display_name)} {_when(n.created_at)}: "
                   f"{_show(n.text)}")


@sessions_group.command("note")
@click.argument("session_id", type=int)
@click.argument("text")
@_USER
@_guard
def sessions_note_cmd(session_id: int, text: str, username: str) -> None:
    """Add a therapist's note to a session."""
    with _clinic(username) as (clinic, _acc, _me):
        clinic.add_note(session_id, text)
    click.echo(f"note added to session {session_id}")


@sessions_group.command("flags")
@_USER
@click.option("--patient", default=None, help="Patient username (default: all yours).")
@click.option("--all", "show_all", is_flag=True, help="Include resolved flags.")
@_guard
def sessions_flags_cmd(username: str, patient: str | None, show_all: bool) -> None:
    """List open flags of your patients (therapists)."""
    with _clinic(username) as (clinic, acc, me):
        rows = clinic.flags(_patient_id(acc, me, patient), open_only=not show_all)
    if not rows:
        click.echo("no flags")
    for f in rows:
        state = (f"closed by {_show(f.resolved_by_name)} {_when(f.resolved_at)}: "
                 f"{_show(f.resolution_note)}" if f.resolved_at else "open")
        click.echo(f"{f.id:>4}  {_when(f.created_at)}  {_show(f.patient_username)}  {f.kind} "
                   f"({state}): {_show(f.detail)}")


@sessions_group.command("close-flag")
@click.argument("flag_id", type=int)
@click.option("--note", required=True, help="What was done about it (kept with the flag).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_USER
@_guard
def sessions_close_flag_cmd(flag_id: int, note: str, yes: bool, username: str) -> None:
    """Close a flag of one of your patients, with a note (therapists)."""
    if not note.strip():
        raise CliError("--note must say what was done about the flag", EXIT_USAGE)
    if not yes and not click.confirm(f"Close flag {flag_id}?", default=False, err=True):
        raise CliError("not closed", EXIT_USAGE)
    with _clinic(username) as (clinic, _acc, _me):
        clinic.resolve_flag(flag_id, note)
    click.echo(f"flag {flag_id} closed")


@sessions_group.command("export")
@_USER
@click.option("--patient", default=None, help="Patient username (patients: themselves).")
@click.option("--since", type=_DATE, default=None, help="From this date (YYYY-MM-DD).")
@click.option("--until", type=_DATE, default=None, help="Up to this date, included.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the sessions as CSV here (and the reps beside it, *_reps.csv).")
@click.option("--reps-csv", "reps_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the reps CSV (default: next to --csv, *_reps.csv).")
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the PDF progress report here.")
@click.option("--handout", "handout_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the patient's printable program handout (PDF) here.")
@_guard
def sessions_export_cmd(username: str, patient: str | None, since: datetime | None,
                        until: datetime | None, csv_path: Path | None, reps_path: Path | None,
                        pdf_path: Path | None, handout_path: Path | None) -> None:
    """Export a patient's sessions and reps (CSV), a progress report (PDF) and the
    program handout (PDF)."""
    if csv_path is None and pdf_path is None and handout_path is None:
        raise CliError("nothing to export: give --csv FILE, --pdf FILE and/or --handout FILE",
                       EXIT_USAGE)
    if reps_path is not None and csv_path is None:
        raise CliError("--reps-csv needs --csv", EXIT_USAGE)
    if csv_path is not None and reps_path is None:
        reps_path = csv_path.with_name(f"{csv_path.stem}_reps{csv_path.suffix or '.csv'}")
    for out in (csv_path, reps_path, pdf_path, handout_path):
        if out is not None and not out.parent.exists():
            raise CliError(f"output folder does not exist: {out.parent}", EXIT_INPUT)
    if since and until and since > until:
        raise CliError("--since is after --until", EXIT_USAGE)
    with _clinic(username) as (clinic, acc, me):
        pid = _patient_id(acc, me, patient)
        if pid is None:
            if me.role != "patient":
                raise CliError("--patient is required", EXIT_USAGE)
            pid = me.user_id
        if csv_path is not None:
            sessions_csv, reps_csv = clinic.export_csv(pid, _day(since), _day(until))
            _write(csv_path, sessions_csv)
            _write(reps_path, reps_csv)
            click.echo(f"wrote {csv_path} and {reps_path}")
        if pdf_path is not None:
            _write(pdf_path, clinic.export_pdf(pid, _day(since), _day(until)))
            click.echo(f"wrote {pdf_path}")
        if handout_path is not None:
            _write(handout_path, clinic.export_handout(pid))
            click.echo(f"wrote {handout_path}")


def _write(path: Path, data: str | bytes) -> None:
    """An export file, readable by its owner only (0600); failures name the file."""
    from sessions.files import write_private

    try:
        write_private(path, data)
    except OSError as e:
        raise CliError(f"could not write {path}: {e.strerror or e}", EXIT_OUTPUT) from None


# --------------------------------------------------------------------------- analyze --save


class AnalysisSaver:
    """Saves an analysed video's report for a patient, signed in before the analysis.

    The patient's safety questions are asked (``screen``) before the analysis, as
    on every path that records a session: a red flag today stops here; the pain
    after is asked once the report is ready (``save``).
    """

    def __init__(self, username: str, patient: str | None) -> None:
        from sessions.service import Clinic

        self._ctx = _signed_in(username)
        self._acc, self._me = _guard(self._ctx.__enter__)()
        self.screening_id: int | None = None
        try:
            self.patient_id = _guard(_patient_id)(self._acc, self._me, patient)
            if self._me.role == "therapist" and self.patient_id is None:
                raise CliError("--patient is required when a therapist saves", EXIT_USAGE)
            if self._me.role == "admin":
                raise CliError("admin accounts cannot save clinical sessions; use the "
                               "patient's or their therapist's account", EXIT_AUTH)
            self.clinic = _guard(Clinic)(self._me, self._acc.engine)
        except BaseException:
            self.close()
            raise

    def screen(self) -> None:
        """Ask the safety questions (stderr prompts) and record them for the patient.

        Raises:
            CliError: a red flag (now or earlier today; exit ``EXIT_SAFETY``), or no
                answers could be read.
        """
        from sessions.screening import SCREENING_QUESTIONS

        who = "you" if self._me.role == "patient" else "the patient"
        click.echo(f"Safety check before the session (answer for {who}):", err=True)
        try:
            answers = {k: click.confirm(f"  {q}", default=None, err=True)
                       for k, q in SCREENING_QUESTIONS.items()}
            pain = click.prompt("  Pain right now, 0 (none) to 10 (worst imaginable)",
                                type=click.IntRange(0, 10), err=True)
        except click.Abort:
            raise CliError("the safety questions were not answered: a session is saved "
                           "only after them", EXIT_SAFETY) from None
        result = _guard(self.clinic.record_screening)(
            answers, pain, patient_id=self.patient_id if self._me.role == "therapist"
            else None)
        if not result.ok:
            raise CliError(f"session not started: {result.advice}", EXIT_SAFETY)
        self.screening_id = result.screening_id

    def save(self, report: Any, video: Path | None = None) -> int:
        """Ask the pain after, then save ``report`` (``video``: the file analysed).

        Returns:
            The session id.
        """
        from sessions.sources import SHA_KEY, fingerprint

        if video is not None and Path(video).is_file():
            report.media[SHA_KEY] = fingerprint(video)
        try:
            pain_after = click.prompt("Pain now, after the stretch, 0 to 10",
                                      type=click.IntRange(0, 10), err=True)
        except click.Abort:
            pain_after = None
        return _guard(self.clinic.save_session)(report, patient_id=self.patient_id,
                                                screening_id=self.screening_id,
                                                pain_after=pain_after)

    def job_target(self) -> tuple[int, int]:
        """(patient id, acting user id) for an analysis job saving into the patient's record.

        Access is checked now, by the clinic service, as for a direct save; the job
        then saves without a login (``sessions.jobs``).
        """
        info = _guard(self.clinic.patient)(self.patient_id)
        return info.id, self._me.user_id

    def close(self) -> None:
        """Log out (idempotent)."""
        if self._ctx is not None:
            ctx, self._ctx = self._ctx, None
            ctx.__exit__(None, None, None)


def prepare_save(save: bool, patient: str | None, username: str | None,
                 video: Path | None = None) -> AnalysisSaver | None:
    """Check ``analyze``'s --save/--patient/--user, sign in and ask the safety questions
    before the analysis starts.

    The acting user (``--user``) is required with ``--save``: a patient saves their
    own session (``--patient`` may be left out), a therapist saves for one of
    their patients (``--patient`` required) and enters the patient's answers.
    A bundled sample ``video`` is refused at once: samples never enter a record.
    Logs out when the command ends.
    """
    if not save:
        if patient or username:
            raise CliError("--patient and --user are for saving: add --save", EXIT_USAGE)
        return None
    if not username:
        raise CliError("--save needs --user (the account that saves; password: prompt or "
                       f"${ENV_PASSWORD})", EXIT_USAGE)
    if video is not None and Path(video).is_file():
        from sessions.sources import SHA_KEY, fingerprint, is_bundled_sample

        if is_bundled_sample({SHA_KEY: fingerprint(video)}):
            raise CliError(f"{Path(video).name} is a bundled sample video: samples are never "
                           "saved into a clinical record (analyse it without --save)",
                           EXIT_USAGE)
    saver = AnalysisSaver(username, patient)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(saver.close)
    try:
        saver.screen()
    except BaseException:
        saver.close()
        raise
    return saver
