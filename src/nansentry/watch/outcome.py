"""From a finished (or stopped) run to the report files and the words on stderr."""

from __future__ import annotations

import json
from dataclasses import replace
import os
import sys
from typing import Any

from nansentry.records import Diagnosis, Finding, Intervention, Report, RunInfo
from nansentry.trace import save_report_dir
from nansentry.watch.options import Options


def run_info(engine: Any, options: Options) -> RunInfo:
    """The training setup as the engine saw it, for the rules and the report."""
    opts = []
    for opt in engine.optimizers:
        g = opt.param_groups[0] if opt.param_groups else {}
        eps = g.get("eps")
        opts.append({"name": type(opt).__name__, "lr": _num(g.get("lr")), "eps": _num(eps),
                     "weight_decay": _num(g.get("weight_decay")), "momentum": _num(g.get("momentum"))})
    params = [p for opt in engine.optimizers for g in opt.param_groups for p in g["params"]]
    return RunInfo(
        script=options.script,
        optimizers=tuple(opts),
        modules=tuple(engine.names.modules),
        n_params=sum(p.numel() for p in params),
        param_dtypes=tuple(sorted({str(p.dtype).replace("torch.", "") for p in params})),
        autocast_dtype=engine.autocast_dtype,
        grad_scaler=engine.grad_scaler,
        clip_grad_norm=engine.clip_grad_norm,
        has_dataloader=bool(engine.trace.records() and any(r.batch_absmax for r in engine.trace.records())),
        recover=options.recover,
    )


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def diagnose(engine: Any, finding: Finding, options: Options) -> Diagnosis | None:
    try:
        from nansentry.diagnose import diagnose as run_rules

        return run_rules(engine.trace.records(), finding, run_info(engine, options))
    except Exception as exc:  # noqa: BLE001 - a rule bug must not hide where the NaN is
        if options.strict:
            raise
        sys.stderr.write(f"nansentry: the diagnosis failed: {type(exc).__name__}: {exc}\n")
        return None


def build_report(engine: Any, finding: Finding | None, diagnosis: Diagnosis | None,
                 interventions: list[Intervention]) -> Report:
    """The contract report of this run, plus the additive fields forensics knows."""
    from nansentry.report import build_report as assemble

    report = assemble(engine.trace.records(), finding, run_info(engine, engine.options), interventions,
                      steps=engine.step, diagnosis=diagnosis)
    if finding is None:
        return report
    extra = {"batch_positions": list(finding.batch_positions), "reproduced": finding.reproduced}
    return replace(report, extra={**report.extra, **extra})


def write(report: Report, finding: Finding | None, engine: Any, options: Options) -> None:
    """Write --json FILE and --report DIR; never lose the run over a write error."""
    try:
        if options.json_path is not None:
            options.json_path.parent.mkdir(parents=True, exist_ok=True)
            options.json_path.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
        engine.trace.flush()
        if options.report_dir is not None:
            run = run_info(engine, options)
            save_report_dir(options.report_dir, report, finding, run)
            try:
                from nansentry.report import write_report_dir

                write_report_dir(options.report_dir, report, finding, run, engine.trace.records())
            except Exception as exc:  # noqa: BLE001 - the JSON report is already safe on disk
                sys.stderr.write(f"nansentry: the HTML report failed: {type(exc).__name__}: {exc}\n")
    except OSError as exc:
        sys.stderr.write(f"nansentry: could not write the report: {exc}\n")


def _color(options: Options) -> bool:
    if options.color is not None:
        return options.color
    return sys.stderr.isatty() and "NO_COLOR" not in os.environ


def print_block(report: Report, finding: Finding | None, options: Options) -> None:
    try:
        from nansentry.report.terminal import render

        text = render(report, finding, _color(options))
    except Exception as exc:  # noqa: BLE001 - never lose the run's outcome over a renderer bug
        text = f"nansentry: {one_line(report)}\n(nansentry: the terminal report failed: {type(exc).__name__}: {exc})\n"
    where = [str(p) for p in (options.json_path, options.report_dir) if p is not None]
    if where:
        text += f"\nFull report: {', '.join(where)}\n"
    sys.stderr.write(text if text.endswith("\n") else text + "\n")


def print_summary(report: Report, finding: Finding | None, options: Options, seconds: float) -> None:
    if report.status != "healthy":
        print_block(report, finding, options)
        return
    try:
        from nansentry.report.terminal import summary_line

        line = summary_line(report, seconds)
    except Exception as exc:  # noqa: BLE001
        line = f"nansentry: healthy, {report.steps} steps ({type(exc).__name__} in the summary: {exc})"
    sys.stderr.write(line.rstrip("\n") + "\n")


def one_line(report: Report) -> str:
    fn = report.first_nonfinite
    if fn is None:
        return "non-finite value"
    where = f" in {fn.op}" if fn.op else ""
    at = f" at {os.path.basename(fn.file)}:{fn.line}" if fn.file else ""
    cause = f" ({report.diagnosis.root_cause})" if report.diagnosis else ""
    return f"non-finite value at step {fn.step}, {fn.phase} phase{where}{at}{cause}"
