"""Aggregation and markdown output of the accuracy benchmark (``benchmarks/accuracy.py``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.cases import Result


def _pct(k: int, n: int) -> str:
    return f"{100.0 * k / n:.0f} %" if n else "-"


def _mean(xs: list[float]) -> float | None:
    return float(np.mean(xs)) if xs else None


def _f(x: float | None, nd: int = 2) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def summarise(results: list[Result]) -> list[dict[str, Any]]:
    """Aggregate per (suite, group)."""
    groups: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        groups.setdefault((r.case.suite, r.case.group), []).append(r)
    rows = []
    for (suite, group), rs in sorted(groups.items()):
        judged = [r for r in rs if r.count is not None and r.case.count is not None]
        errs = [r.count_error for r in judged]
        row: dict[str, Any] = {
            "suite": suite, "group": group, "clips": len(rs), "judged": len(judged),
            "not_run": len(rs) - len(judged),
            "exact": sum(1 for e in errs if e == 0), "within_one": sum(1 for e in errs
                                                                      if abs(e) <= 1),
            "count_mae": _mean([abs(e) for e in errs]),
            "truth_reps": sum(r.case.count for r in judged),
            "counted_reps": sum(r.count for r in judged),
            "full_truth": sum(r.case.full for r in judged if r.case.full is not None),
            "full_counted": sum(r.full_reps for r in judged if r.case.full is not None),
            "full_exact": sum(1 for r in judged if r.case.full is not None
                              and r.full_reps == r.case.full),
            "full_judged": sum(1 for r in judged if r.case.full is not None),
            "hold_error_s": _mean([e for r in judged for e in r.hold_errors]),
            "holds": sum(len(r.case.holds) for r in judged),
            "holds_missed": sum(r.holds_missed for r in judged),
            "measure_mae": _mean([r.measure_mae for r in judged if r.measure_mae is not None]),
            "faults": sum(len(r.case.faults) for r in judged),
            "faults_found": sum(len(r.fault_errors) for r in judged),
            "fault_timing_s": _mean([e for r in judged for e in r.fault_errors]),
        }
        if any(r.case.plain for r in rs):
            pj = [r for r in judged if r.plain_count is not None]
            pe = [r.plain_count - r.case.count for r in pj]
            row.update({
                "plain_exact": sum(1 for e in pe if e == 0),
                "plain_within_one": sum(1 for e in pe if abs(e) <= 1),
                "plain_mae": _mean([abs(e) for e in pe]),
            })
        rows.append(row)
    return rows


def markdown(rows: list[dict[str, Any]], results: list[Result],
             tally: dict[str, dict[str, int]] | None, per_clip: bool = True) -> str:
    """The report as markdown tables."""
    out = ["| suite | stretch / exercise | clips | count exact | within one | count MAE | "
           "reps truth→counted | full reps truth→counted | hold error (s) (holds matched) | "
           "measure MAE | faults found, timing (s) |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        n = r["judged"]
        faults = (f"{r['faults_found']}/{r['faults']}, {_f(r['fault_timing_s'])}"
                  if r["faults"] else "-")
        holds = (f"{_f(r['hold_error_s'])} ({r['holds'] - r['holds_missed']}/{r['holds']})"
                 if r["holds"] else "-")
        clips = f"{n}" + (f" (+{r['not_run']} not run)" if r["not_run"] else "")
        full = (f"{r['full_truth']}→{r['full_counted']} ({r['full_exact']}/{r['full_judged']} "
                f"clips exact)" if r["full_judged"] else "-")
        out.append(f"| {r['suite']} | {r['group']} | {clips} | {_pct(r['exact'], n)} | "
                   f"{_pct(r['within_one'], n)} | {_f(r['count_mae'])} | "
                   f"{r['truth_reps']}→{r['counted_reps']} | {full} | {holds} | "
                   f"{_f(r['measure_mae'])} | {faults} |")
    wrows = [r for r in rows if "plain_exact" in r]
    if wrows:
        out += ["", "Workout set, project vs the plain two-threshold counter on the same pose "
                "output (count = the labelled reps):", "",
                "| exercise | clips | project exact | project within one | plain exact | "
                "plain within one | project MAE | plain MAE |",
                "|---|---|---|---|---|---|---|---|"]
        for r in wrows:
            n = r["judged"]
            out.append(f"| {r['group']} | {n} | {_pct(r['exact'], n)} | "
                       f"{_pct(r['within_one'], n)} | {_pct(r['plain_exact'], n)} | "
                       f"{_pct(r['plain_within_one'], n)} | {_f(r['count_mae'])} | "
                       f"{_f(r['plain_mae'])} |")
    if tally:
        out += ["", "Workout label files: " + "; ".join(
            f"{ex}: {t['label_files']} files, {t['all_zero']} all-zero excluded, "
            f"{t['missing_video']} video missing, {t['lfs_pointer']} LFS pointer"
            for ex, t in tally.items())]
    if per_clip:
        out += ["", "| suite | clip | definition | side | truth | counted | full | plain | "
                "assessable | setup issues (frames) | note |",
                "|---|---|---|---|---|---|---|---|---|---|---|"]
        for res in results:
            c = res.case
            issues = ", ".join(f"{k} {v}" for k, v in sorted(res.setup_issues.items(),
                                                             key=lambda kv: -kv[1]))
            note = res.error or ""
            if res.reps_in_non_exercise:
                note += f" {res.reps_in_non_exercise} rep(s) in a non-exercise segment"
            if res.diagnosis:
                note += f" nothing counted: {res.diagnosis}"
            truth = "-" if c.count is None else str(c.count)
            share = "-" if res.assessable_share is None else f"{100 * res.assessable_share:.0f} %"
            out.append(f"| {c.suite} | {c.name} | {c.definition} | {c.side or 'all'} | {truth} "
                       f"| {_s(res.count)} | {_s(res.full_reps)} | {_s(res.plain_count)} | "
                       f"{share} | {issues} | {note.strip()} |")
    return "\n".join(out)


def _s(x: int | None) -> str:
    return "-" if x is None else str(x)
