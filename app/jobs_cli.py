"""``stretch-coach batch``, ``worker`` and ``jobs``: video analyses as jobs from the shell.

Thin: arguments go to ``coach.jobs`` (the engine) and ``sessions.jobs`` (the record).
Without ``$STRETCH_COACH_BROKER_URL`` a batch runs in this process (``--workers``
threads); with it, the batch is handed to the broker and ``stretch-coach worker``
processes (on this or other machines) run it.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import Any

import click

from sessions.cli_common import EXIT_BATCH_FAILED, EXIT_OUTPUT, EXIT_USAGE, CliError

__all__ = ["batch_cmd", "jobs_group", "worker_cmd"]

VIDEO_SUFFIXES = {".mp4", ".mov", ".webm", ".avi", ".mkv", ".m4v"}


def _error(message: str, code: int) -> click.ClickException:
    return CliError(message, code)


def _videos(paths: tuple[Path, ...], list_file: Path | None) -> list[Path]:
    """The video files named: files as given, folders' videos sorted, a list file's lines."""
    named = list(paths)
    if list_file is not None:
        for line in list_file.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                p = Path(line).expanduser()
                named.append(p if p.is_absolute() else list_file.parent / p)
    out: list[Path] = []
    for p in named:
        if p.is_dir():
            out += sorted(f for f in p.iterdir()
                          if f.is_file() and f.suffix.lower() in VIDEO_SUFFIXES)
        elif p.is_file():
            out.append(p)
        else:
            raise _error(f"no such file or folder: {p}", EXIT_USAGE)
    if not out:
        raise _error("no video files found (looked for "
                     f"{', '.join(sorted(VIDEO_SUFFIXES))})", EXIT_USAGE)
    return [p.resolve() for p in out]


def _json_folder(folder: Path) -> None:
    """Make the reports' folder (0700 when new) and check a file can be written there,
    before any job runs: a folder that can't be used is said in one line (exit 9).

    Raises:
        CliError: the folder can't be made or written to (it and the cause named).
    """
    import tempfile

    from sessions.files import DIR_MODE

    try:
        folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    except OSError as e:
        raise _error(f"could not create the JSON folder {folder}: {e.strerror or e}",
                     EXIT_OUTPUT) from None
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".stretch-coach-"):
            pass
    except OSError as e:
        raise _error(f"could not write in the JSON folder {folder}: {e.strerror or e}",
                     EXIT_OUTPUT) from None


def _write_json(report: Any, path: Path) -> str | None:
    """Write ``report`` as a private (0600) JSON file; the one-line reason if it failed."""
    import json

    from sessions import files

    try:
        files.write_private(path, json.dumps(report.to_dict(), indent=2, allow_nan=False))
    except OSError as e:
        cause = os.strerror(e.errno) if e.errno else str(e)
        return f"could not write the JSON report {path}: {cause}"
    return None


@click.command("batch")
@click.argument("paths", nargs=-1, type=click.Path(exists=False, path_type=Path))
@click.option("--list", "list_file", type=click.Path(dir_okay=False, exists=True,
                                                      path_type=Path),
              help="A text file with one video path per line (relative to the file).")
@click.option("--exercise", "-e", required=True, help="Stretch id done in every video.")
@click.option("--side", type=click.Choice(["left", "right", "both"]), default=None)
@click.option("--definitions", type=click.Path(file_okay=False), default=None,
              help="Folder of stretch definition files (default: the built-in library).")
@click.option("--json-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write each finished report as JSON here (named after the video).")
@click.option("--workers", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Without a broker: analyses run at once in this process.")
@click.option("--no-wait", is_flag=True,
              help="With a broker: queue the jobs and return (see 'stretch-coach jobs').")
@click.option("--save", is_flag=True, help="Save each session to the clinic database.")
@click.option("--patient", default=None, help="Patient username (with --save).")
@click.option("--user", "acting_user", default=None,
              help="Account that saves (password: prompt or $STRETCH_COACH_PASSWORD).")
@click.option("--quiet", "-q", is_flag=True, help="Only the final table.")
def batch_cmd(paths: tuple[Path, ...], list_file: Path | None, exercise: str,
              side: str | None, definitions: str | None, json_dir: Path | None, workers: int,
              no_wait: bool, save: bool, patient: str | None, acting_user: str | None,
              quiet: bool) -> None:
    """Analyse many videos of one stretch as jobs: PATHS are files or folders.

    Each video is one job with its state in the database (``stretch-coach jobs
    list --batch TAG``). Exit code 17 when any job failed or was cancelled, or (with
    --save) a bundled sample video was skipped; 9 when a JSON report could not be
    written (each one named; the reports are private files, 0600).
    """
    from app.cli import _definition
    from coach import jobs as engine
    from sessions.cli import prepare_save
    from sessions.cli_save import sample_refusal
    from sessions.jobs import JobStore

    _definition(exercise, definitions)          # an unknown stretch fails before any job
    videos = _videos(paths, list_file)
    if json_dir is not None:
        _json_folder(json_dir)
    refused = 0
    if save:   # samples never enter a record: say so for each one, and go on with the rest
        kept: list[Path] = []
        for v in videos:
            why = sample_refusal(v)
            if why is None:
                kept.append(v)
            else:
                refused += 1
                click.echo(f"skipped: {why}", err=True)
        if not kept:
            raise _error("nothing to analyse: every video named is a bundled sample "
                         "(run the batch without --save to analyse samples)", EXIT_USAGE)
        videos = kept
    saver = prepare_save(save, patient, acting_user)
    target: dict = {"save": "none"}
    if saver is not None:
        patient_id, user_id = saver.job_target()
        target = {"save": "patient", "patient_id": patient_id, "submitted_by": user_id}
    store = JobStore(saver.clinic.engine if saver is not None else None)
    tag = uuid.uuid4().hex[:12]
    params = {"definitions": definitions} if definitions else {}
    ids = [store.submit(v, exercise, label=v.name, side=side, params=params, batch=tag,
                        **target) for v in videos]
    remote = engine.broker_url() is not None
    if not remote:
        os.environ[engine.ENV_LOCAL_WORKERS] = str(workers)
    for job_id in ids:
        engine.enqueue(job_id)
    click.echo(f"batch {tag}: {len(ids)} job(s) "
               + ("queued for the workers" if remote else f"running here ({workers} at once)"),
               err=True)
    if remote and no_wait:
        click.echo(f"follow it with: stretch-coach jobs list --batch {tag}")
        return
    seen: set[int] = set()

    def show(current: list) -> None:
        for j in current:
            if j.finished and j.id not in seen:
                seen.add(j.id)
                if not quiet:
                    click.echo(f"  [{len(seen)}/{len(ids)}] {j.label}: {j.state}"
                               + (f" ({j.error})" if j.error else ""), err=True)

    final = engine.wait_for(ids, store, on_update=show)
    bad = refused
    unwritten: list[str] = []
    for j in final:
        report = j.report()
        if report is not None:
            if json_dir is not None:
                why = _write_json(report, json_dir / f"{Path(j.label).stem}.json")
                if why is not None:
                    unwritten.append(why)
            saved = f"  session {j.session_id}" if j.session_id else ""
            click.echo(f"{j.id:>6}  {j.label}  done  {report.summary_line()}{saved}")
        else:
            bad += 1
            click.echo(f"{j.id:>6}  {j.label}  {j.state}  {j.error or ''}".rstrip())
    for why in unwritten:
        click.echo(f"error: {why}", err=True)
    if unwritten:
        sys.exit(EXIT_OUTPUT)
    if bad:
        sys.exit(EXIT_BATCH_FAILED)


@click.command("worker")
@click.option("--threads", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Analyses at once in this process (one per core is plenty).")
def worker_cmd(threads: int) -> None:
    """Run analysis jobs from the broker until stopped (SIGTERM / Ctrl+C).

    Needs $STRETCH_COACH_BROKER_URL (amqp://... or redis://...) and the shared database
    in $STRETCH_COACH_DB_URL; the videos' paths must be readable from here.
    """
    import logging

    from coach import jobs as engine

    logging.getLogger().setLevel(min(logging.getLogger().level, logging.INFO))
    logging.getLogger("pika").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        engine.run_worker(threads, ready=lambda: click.echo(
            f"worker ready (pid {os.getpid()}, queue {engine.queue_name()})", err=False))
    except RuntimeError as e:
        raise _error(str(e), EXIT_USAGE) from None


@click.group("jobs")
def jobs_group() -> None:
    """List and cancel analysis jobs."""


@jobs_group.command("list")
@click.option("--batch", default=None, help="Only this batch's jobs.")
@click.option("--all", "show_all", is_flag=True, help="Finished jobs too.")
def jobs_list_cmd(batch: str | None, show_all: bool) -> None:
    """Jobs with their state and progress (unfinished ones unless --all or --batch)."""
    from sessions.jobs import JOB_STATES, JobStore

    states = None if show_all or batch else tuple(s for s in JOB_STATES
                                                  if s in ("queued", "running"))
    for j in JobStore().list(batch=batch, states=states):
        share = j.share
        prog = f" {share:.0%}" if share is not None and j.state == "running" else ""
        extra = j.error or (f"session {j.session_id}" if j.session_id else "")
        click.echo(f"{j.id:>6}  {j.state:<9}{prog:>5}  {j.exercise:<22} {j.label}  {extra}"
                   .rstrip())


@jobs_group.command("cancel")
@click.argument("job_id", type=int)
def jobs_cancel_cmd(job_id: int) -> None:
    """Cancel a queued or running job (a running one stops within a second)."""
    from sessions.jobs import JobStore

    try:
        j = JobStore().cancel(job_id)
    except KeyError as e:
        raise _error(str(e.args[0]), EXIT_USAGE) from None
    click.echo(f"job {j.id}: {j.state}" + (" (stopping)" if j.state == "running" else ""))
