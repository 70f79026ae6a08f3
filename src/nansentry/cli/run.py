"""`nansentry run`: run an unmodified training script with the guard installed.

The script runs in this interpreter exactly as under `python SCRIPT ARGS`: its
`sys.argv`, `__name__ == "__main__"`, its folder first on `sys.path`, its exit status.
The guard's hooks are installed before the script's first line runs.
"""

from __future__ import annotations

import argparse
import os
import runpy
import signal
import sys
import traceback
from pathlib import Path
from types import FrameType, TracebackType


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run a training script with the guard installed (no code change)",
        description="Run SCRIPT (or -m MODULE) with nansentry watching every optimizer step.",
        usage="nansentry run [--json FILE] [--report DIR] [--recover off|skip|auto] [--] SCRIPT [ARGS...]\n"
              "       nansentry run [options] -m MODULE [ARGS...]",
    )
    p.add_argument("--json", metavar="FILE", help="write the JSON report to FILE")
    p.add_argument("--report", metavar="DIR", help="write the full report (JSON, trace, HTML) to DIR")
    p.add_argument("--recover", choices=("off", "skip", "auto"), default="off",
                   help="off: stop at the first non-finite value (default); skip: skip bad steps; "
                        "auto: the recovery ladder")
    p.add_argument("--strict", action="store_true", help="re-raise the guard's own internal errors")
    p.add_argument("--max-skips", type=int, default=20, metavar="N",
                   help="stop after N non-finite steps in a row under --recover skip/auto (default 20)")
    p.add_argument("--quarantine", metavar="FILE",
                   help="exclude the dataset indices listed in FILE (a quarantine.json of an earlier run, "
                        "or a JSON list) from every batch")
    p.add_argument("--snapshot-every", type=int, default=None, metavar="N",
                   help="--recover auto: keep a good state for rollback every N steps (default: as often "
                        "as 2%% of training time allows, measured)")
    p.add_argument("--snapshot-keep", type=int, default=5, metavar="K",
                   help="--recover auto: good states kept, spread 1, 2, 4... cadences back (default 5)")
    p.add_argument("--snapshot-max-mb", type=float, default=None, metavar="MB",
                   help="--recover auto: host memory bound for the kept states (default: none)")
    p.add_argument("--clip-max-norm", default="1.0", metavar="X|median",
                   help="--recover auto: the gradient-clip threshold to start from, kept within 10x of the "
                        "run's median healthy gradient norm (default 1.0, the usual clip_grad_norm_ value); "
                        "'median': the median healthy norm itself")
    p.add_argument("-m", dest="module", metavar="MODULE", help="run a library module as a script")
    p.add_argument("script", nargs="?", metavar="SCRIPT")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS")
    p.set_defaults(func=run)


def _fail(message: str) -> int:
    sys.stderr.write(f"nansentry run: {message}\n")
    return 2


def _check_writable_dir(path: Path) -> str | None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".nansentry-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        return f"cannot write the report directory {path}: {exc.strerror or exc}"
    return None


def _validate(args: argparse.Namespace) -> tuple[list[str], str | None] | int:
    """Return (argv, script path) or an exit status for bad input."""
    if _clip_max_norm(args.clip_max_norm) == 0.0:
        return _fail(f"--clip-max-norm takes a gradient norm above 0 or 'median', not {args.clip_max_norm!r}")
    if args.module:
        argv = [args.module] + ([args.script] if args.script else []) + list(args.args)
        return argv, None
    if not args.script:
        return _fail("no script given. Usage: nansentry run [options] SCRIPT [ARGS...]")
    if args.script.startswith("-"):
        return _fail(f"unknown option {args.script!r}. See `nansentry run --help`.")
    path = Path(args.script)
    if not path.is_file():
        return _fail(f"no such script: {args.script}")
    if args.report and (err := _check_writable_dir(Path(args.report))):
        return _fail(err)
    if args.json and (err := _check_writable_dir(Path(args.json).resolve().parent)):
        return _fail(err)
    if args.quarantine and not Path(args.quarantine).is_file():
        return _fail(f"no such quarantine file: {args.quarantine}")
    if (args.snapshot_every is not None and args.snapshot_every < 1) or args.snapshot_keep < 1:
        return _fail("--snapshot-every and --snapshot-keep take a number of 1 or more")
    return [args.script] + list(args.args), str(path.resolve())


def _clip_max_norm(text: str) -> float | None:
    """--clip-max-norm: None for 'median', 0.0 for anything that is not a norm above 0."""
    if text == "median":
        return None
    try:
        value = float(text)
    except ValueError:
        return 0.0
    return value if value > 0 and value != float("inf") else 0.0


def run(args: argparse.Namespace) -> int:
    checked = _validate(args)
    if isinstance(checked, int):
        return checked
    argv, script = checked
    if args.module and args.report and (err := _check_writable_dir(Path(args.report))):
        return _fail(err)

    from nansentry.errors import NonFiniteError
    from nansentry.recover.config import RecoveryConfig
    from nansentry.watch.options import Options
    from nansentry.watch.session import Session

    options = Options(
        report_dir=Path(args.report) if args.report else None,
        json_path=Path(args.json) if args.json else None,
        recover=args.recover,
        strict=args.strict,
        max_skips_in_row=args.max_skips,
        script=script or args.module,
        recovery=RecoveryConfig(snapshot_every=args.snapshot_every, snapshot_keep=args.snapshot_keep,
                                snapshot_max_mb=args.snapshot_max_mb,
                                clip_max_norm=_clip_max_norm(args.clip_max_norm),
                                quarantine_file=Path(args.quarantine) if args.quarantine else None),
    )
    session = Session(options).start()
    old_term = signal.signal(signal.SIGTERM, _on_sigterm)
    sys.argv = argv
    sys.path[0] = os.path.dirname(script) if script else os.getcwd()
    status, crashed = 0, False
    try:
        if script:
            runpy.run_path(script, run_name="__main__")
        else:
            runpy.run_module(args.module, run_name="__main__", alter_sys=True)
    except NonFiniteError:
        return 1  # the report is written and the diagnosis printed
    except SystemExit as exc:
        status = _exit_status(exc.code)
        crashed = status != 0
    except KeyboardInterrupt:
        sys.stderr.write("KeyboardInterrupt\n")
        status, crashed = 130, True
    except BaseException as exc:  # the user's own crash: their traceback, as python shows it
        _print_user_traceback(exc)
        status, crashed = 1, True
    finally:
        signal.signal(signal.SIGTERM, old_term)
        sys.stdout.flush()
    try:
        report = session.close(crashed=crashed)
    except NonFiniteError:
        return 1
    if report.status != "healthy" and not session.recovered:
        return 1
    return status  # healthy, or recovered by --recover auto: the script's own status


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return 1


def _print_user_traceback(exc: BaseException) -> None:
    """Print the traceback without nansentry's and runpy's own frames."""
    here = str(Path(__file__).resolve().parents[1])
    tb: TracebackType | None = exc.__traceback__
    while tb is not None and (tb.tb_frame.f_code.co_filename.startswith(here)
                              or "runpy" in tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb)
