"""``stretch-coach sessions ...``: patients' saved sessions: list, show, note, flags,
close a flag, export (CSV, PDF progress report, program handout).

Signed in with ``--user``; every request goes through ``sessions.service.Clinic``
(``sessions.cli`` has the whole picture).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sessions.cli_common import (
    ENV_PASSWORD,
    EXIT_INPUT,
    EXIT_OUTPUT,
    EXIT_USAGE,
    CliError,
    _guard,
    _patient_id,
    _show,
    _signed_in,
    _when,
)

if TYPE_CHECKING:
    from sessions.auth import Accounts, Principal

__all__ = ["sessions_group"]


def _day(value: datetime | None) -> date | None:
    return None if value is None else value.date()


_DATE = click.DateTime(formats=["%Y-%m-%d"])
_USER = click.option("--user", "-u", "username", required=True,
                     help=f"Account to act as (password: prompt or ${ENV_PASSWORD}).")

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
