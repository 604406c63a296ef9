"""The ``gradstage`` command: ``serve``, ``healthcheck``, ``trace`` and ``export``."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence


def _seconds(text: str) -> float:
    """A positive number of seconds (argparse's type for --time-limit)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds: {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradstage", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the app and the API")
    serve.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8000)")
    serve.add_argument("--workers", type=int, default=None, help="sandbox workers")

    sub.add_parser(
        "healthcheck",
        help="exit 0 if the server of the GRADSTAGE_HOST/PORT settings answers /healthz",
    )

    trace = sub.add_parser("trace", help="trace a program and print its Trace JSON")
    trace.add_argument("program", help="path to a .py file, or - for standard input")
    trace.add_argument("-o", "--output", help="write the JSON here instead of stdout")
    trace.add_argument("--summary", action="store_true", help="print a short human account")
    trace.add_argument("--indent", action="store_true", help="pretty-print the JSON")
    trace.add_argument(
        "--time-limit",
        type=_seconds,
        metavar="SECONDS",
        help="stop the program after this many seconds of CPU or in all, with a time_limit "
        "error at its line (default: no limit)",
    )

    export = sub.add_parser("export", help="write a self-contained HTML player")
    export.add_argument("program", nargs="?", help="path to a .py file")
    export.add_argument("-o", "--output", help="output .html file (or folder with --lessons)")
    export.add_argument("--lessons", metavar="DIR", help="export every lesson and an index to DIR")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gradstage`` command."""
    args = _parser().parse_args(argv)
    if args.command in ("serve", "healthcheck"):
        from gradstage.settings import SettingsError

        try:
            return _server_command(args)
        except SettingsError as exc:
            for problem in exc.problems:
                print(f"gradstage: {problem}", file=sys.stderr)
            return 2  # as argparse does for a bad option
    if args.command == "trace":
        from gradstage.tracer.cli import trace_command

        return trace_command(
            args.program,
            args.output,
            summary=args.summary,
            indent=args.indent,
            time_limit=args.time_limit,
        )
    from gradstage.export import export_command

    return export_command(args.program, args.output, lessons_dir=args.lessons)


def _server_command(args: argparse.Namespace) -> int:
    if args.command == "healthcheck":
        from gradstage.api.healthcheck import healthcheck

        return healthcheck()
    from gradstage.api.serve import serve

    return serve(host=args.host, port=args.port, workers=args.workers)


if __name__ == "__main__":
    sys.exit(main())
