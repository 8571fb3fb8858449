"""Command line: ``python -m avatar {list,render,verify,validation,demo}``."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

__all__ = ["main"]

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "sample_videos"


def _select(only: list[str] | None, stress: bool = True) -> list:
    from .scenarios import SCENARIOS, STRESS, by_name

    if only:
        return [by_name(n) for n in only]
    return list(SCENARIOS) + (list(STRESS) if stress else [])


def _cmd_list(args: argparse.Namespace) -> int:
    from .scenarios import SCENARIOS, STRESS

    for sc in SCENARIOS + STRESS:
        name = f"{sc.folder}/{sc.name}" if sc.folder else sc.name
        print(f"{name:40s} {sc.exercise:22s} {sc.view:5s} side={sc.side}")
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    from .body import BodyDataError, load_body
    from .lab import render_clip
    from .render import Renderer

    try:
        body = load_body()
    except BodyDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    scenarios = _select(args.only)
    renderer = None if args.truth_only else Renderer()
    t_all = time.perf_counter()
    try:
        for k, sc in enumerate(scenarios, 1):
            t0 = time.perf_counter()

            def progress(i: int, n: int, sc=sc, k=k, t0=t0) -> None:
                rate = i / max(time.perf_counter() - t0, 1e-6)
                print(f"\r[{k}/{len(scenarios)}] {sc.name}: frame {i}/{n} ({rate:.0f} fps)",
                      end="", file=sys.stderr, flush=True)

            clip = render_clip(sc, args.out, body=body, renderer=renderer, progress=progress,
                               video=not args.truth_only)
            size = sum(f.stat().st_size for f in (clip.mp4, clip.truth) if f.is_file())
            print(f"\r[{k}/{len(scenarios)}] {sc.name}: {clip.n_frames} frames, "
                  f"{clip.seconds:.1f} s, {size / 1e6:.2f} MB, "
                  f"{time.perf_counter() - t0:.0f} s to render", file=sys.stderr)
    finally:
        if renderer is not None:
            renderer.close()
    print(f"rendered {len(scenarios)} clip(s) into {args.out} in "
          f"{time.perf_counter() - t_all:.0f} s", file=sys.stderr)
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from .verify import format_table, load_truth, verify_clip

    rows = []
    sidecars = sorted(Path(args.dir).glob("*.truth.json"))
    if args.only:
        sidecars = [p for p in sidecars if p.name[: -len(".truth.json")] in args.only]
    for p in sidecars:
        name = p.name[: -len(".truth.json")]
        mp4 = p.with_name(name + ".mp4")
        if not mp4.is_file() or "state" in load_truth(p)["expected"]:
            continue  # truth without video, or a stress clip (no measure to compare)
        print(f"verifying {name} ...", file=sys.stderr, flush=True)
        rows.append(verify_clip(mp4))
    if not rows:
        print(f"error: no clips with sidecars in {args.dir}", file=sys.stderr)
        return 2
    print(format_table(rows))
    return 0 if all(r["ok"] for r in rows) else 1


def _cmd_validation(args: argparse.Namespace) -> int:
    from .body import BodyDataError
    from .validation import generate

    t0 = time.perf_counter()
    try:
        rows = generate(args.out, args.count, args.seed, posture_count=args.posture_count,
                        progress=lambda line: print(line, file=sys.stderr, flush=True))
    except BodyDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    total = time.perf_counter() - t0
    frames = sum(r["frames"] for r in rows)
    print(f"rendered {len(rows)} validation clip(s) into {args.out} in {total:.0f} s "
          f"({total / max(len(rows), 1):.0f} s per clip, {frames / max(total, 1e-6):.1f} "
          f"frames/s)")
    return 0


def _demo_definitions(items: list[str]) -> tuple[list, list[str]]:
    """Definitions named by id (library) or by file path; errors as one line each."""
    from exercises.definition import DefinitionError, load_definition, load_library

    library = load_library()
    if not items:
        return [library[k] for k in sorted(library)], []
    out, errors = [], []
    for item in items:
        path = Path(item)
        if item.endswith(".toml") or path.is_file():
            try:
                out.append(load_definition(path))
            except (DefinitionError, OSError) as exc:
                errors.append(f"{item}: {exc}")
        elif item in library:
            out.append(library[item])
        else:
            errors.append(f"{item}: no such stretch; known: {', '.join(sorted(library))}")
    return out, errors


def _cmd_demo(args: argparse.Namespace) -> int:
    from .body import BodyDataError, load_body
    from .demo import DemoUnavailableError, RigGeometry, build_demo

    definitions, errors = _demo_definitions(args.ids)
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if errors:
        return 2
    try:
        body = load_body()
    except BodyDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    width, height = args.size
    geo = RigGeometry(body)
    renderer = None
    if not args.check:
        from .render import Renderer

        renderer = Renderer(width, height)
    failed: list[str] = []
    try:
        for k, d in enumerate(definitions, 1):
            t0 = time.perf_counter()
            tag = f"[{k}/{len(definitions)}] {d.id}"

            def progress(i: int, n: int, tag=tag) -> None:
                print(f"\r{tag}: frame {i}/{n}", end="", file=sys.stderr, flush=True)

            try:
                r = build_demo(d, args.out, geometry=geo, renderer=renderer, width=width,
                               height=height, fps=args.fps, max_s=args.max_seconds,
                               video=not args.check, progress=progress)
            except DemoUnavailableError as exc:
                print(f"\r{tag}: {exc}", file=sys.stderr)
                failed.append(d.id)
                continue
            p = d.primary
            holds = ", ".join(f"{s} {v['min']:.3g}..{v['max']:.3g}" for s, v in r.at_hold.items())
            size = f", {r.mp4.stat().st_size / 1e3:.0f} kB" if r.mp4 else ""
            status = "ok" if r.ok else "NOT IN BAND: " + "; ".join(r.problems)
            print(f"\r{tag}: {p.measure} at hold {holds} (target {list(p.target)}), "
                  f"{r.n_frames} frames{size}, {time.perf_counter() - t0:.0f} s: {status}",
                  file=sys.stderr)
            if not r.ok:
                failed.append(d.id)
    finally:
        if renderer is not None:
            renderer.close()
    made = len(definitions) - len(failed)
    print(f"{made} demo(s) {'checked' if args.check else 'made'} in {args.out}"
          + (f"; none for: {', '.join(failed)}" if failed else ""), file=sys.stderr)
    return 1 if failed else 0


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    if w % 2 or h % 2 or not (64 <= w <= 1280 and 64 <= h <= 720):
        raise argparse.ArgumentTypeError(f"expected even sizes within 64x64..1280x720, got {text}")
    return w, h


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m avatar``."""
    parser = argparse.ArgumentParser(
        prog="python -m avatar",
        description="Avatar lab: render the sample clips (MakeHuman CC0 body, pyrender) "
                    "with per-frame ground truth, and check them against MediaPipe.",
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list the clips").set_defaults(fn=_cmd_list)
    p = sub.add_parser("render", help="render clips (.mp4 + .truth.json)")
    p.add_argument("--only", action="append", metavar="NAME",
                   help="render only this clip (repeatable); default: all")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help=f"samples folder (default {DEFAULT_OUT})")
    p.add_argument("--truth-only", action="store_true",
                   help="rewrite only the .truth.json sidecars (the choreography is "
                        "deterministic, so the committed videos still match)")
    p.set_defaults(fn=_cmd_render)
    p = sub.add_parser("verify", help="run the product (analyze path, MediaPipe) on rendered "
                                      "clips and compare its measures with the geometric truth")
    p.add_argument("--only", action="append", metavar="NAME")
    p.add_argument("--dir", type=Path, default=DEFAULT_OUT,
                   help="folder of clips with .truth.json sidecars (samples or a validation set)")
    p.set_defaults(fn=_cmd_verify)
    from .validation import DEFAULT_DIR

    p = sub.add_parser("validation", help="render a varied validation set with geometric truth "
                                          "(bodies, colours, lights, camera yaw/pitch/distance, "
                                          "portrait, 24-60 fps, partial reps, broken holds)")
    p.add_argument("--out", type=Path, default=DEFAULT_DIR,
                   help=f"output folder, kept out of git (default {DEFAULT_DIR})")
    p.add_argument("--count", type=int, default=14,
                   help="number of clips of standing stretches (default 14)")
    p.add_argument("--posture-count", type=int, default=4,
                   help="number of clips of the stretches done seated or on all fours, "
                        "from their own camera set-ups (default 4)")
    p.add_argument("--seed", type=int, default=0, help="variation seed (default 0)")
    p.set_defaults(fn=_cmd_validation)
    from .demo import DEFAULT_DEMOS_DIR, FPS, HEIGHT, MAX_S, WIDTH

    p = sub.add_parser("demo", help="render a looping demonstration of each stretch from its "
                                    "definition (default: every library stretch)")
    p.add_argument("ids", nargs="*", metavar="ID|FILE.toml",
                   help="library ids or definition files (default: the whole library)")
    p.add_argument("--out", type=Path, default=DEFAULT_DEMOS_DIR,
                   help=f"output folder (default {DEFAULT_DEMOS_DIR})")
    p.add_argument("--size", type=_size, default=(WIDTH, HEIGHT),
                   help=f"frame size WIDTHxHEIGHT (default {WIDTH}x{HEIGHT})")
    p.add_argument("--fps", type=int, default=FPS, help=f"frames per second (default {FPS})")
    p.add_argument("--max-seconds", type=float, default=MAX_S,
                   help=f"longest clip; holds are shortened to fit (default {MAX_S:g})")
    p.add_argument("--check", action="store_true",
                   help="only plan and check the truth (writes the .demo.json, no video)")
    p.set_defaults(fn=_cmd_demo)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    return int(args.fn(args))
