"""``analyze --save``: sign in before the analysis, ask the safety questions and the
pain on the terminal, save the report into the patient's record.

``app/cli.py`` (``analyze``) and ``app/jobs_cli.py`` call ``prepare_save``; the
safety gate itself is the clinic's (``sessions.screening_service.require_valid``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from sessions.cli_common import (
    ENV_PASSWORD,
    EXIT_AUTH,
    EXIT_SAFETY,
    EXIT_USAGE,
    CliError,
    _guard,
    _patient_id,
    _signed_in,
)

__all__ = ["AnalysisSaver", "prepare_save", "sample_refusal"]

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


def sample_refusal(video: Path) -> str | None:
    """Why ``video`` must not be saved into a clinical record (a bundled sample, by its
    bytes whatever its name), or None.

    The commands ask this before signing in and analysing; the save itself refuses a
    sample again (``sessions.records.check_save``, ``sessions.jobs``).
    """
    from sessions.sources import SHA_KEY, fingerprint, is_bundled_sample

    if Path(video).is_file() and is_bundled_sample({SHA_KEY: fingerprint(video)}):
        return (f"{Path(video).name} is a bundled sample video: samples are never saved "
                "into a clinical record")
    return None


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
    refused = None if video is None else sample_refusal(video)
    if refused is not None:
        raise CliError(f"{refused} (analyse it without --save)", EXIT_USAGE)
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
