"""``python -m bench`` (``make bench``): run the benchmark suite, print the table, write JSON.

    python -m bench                  # the full suite, ~12 minutes on 2 cores
    python -m bench --quick          # the smoke scale, a few seconds of polling
    python -m bench --scale rate-50  # only the named full-suite scales (no naive, no /metrics load)
    python -m bench --render FILE    # re-print the tables of a saved run

The JSON goes to ``--out`` (default bench/results/latest.json for the full suite) and a
Markdown copy of the tables beside it (same name, ``.md``).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from bench.report import render_markdown, to_document
from bench.scales import FULL, QUICK, Plan
from bench.suite import run_suite

if TYPE_CHECKING:
    from collections.abc import Sequence

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite (or re-render a saved one) and print its tables."""
    args = _parser().parse_args(argv)
    if args.render:
        print(render_markdown(json.loads(args.render.read_text(encoding="utf-8"))), end="")
        return 0
    plan = QUICK if args.quick else _only(args.scale) if args.scale else FULL
    out: Path = args.out or RESULTS / (f"{plan.name}.json" if plan is not FULL else "latest.json")
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    result = run_suite(plan, progress)
    command = shlex.join(["python", "-m", "bench", *(argv if argv is not None else sys.argv[1:])])
    document = to_document(result, command)
    markdown = render_markdown(document)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(markdown, encoding="utf-8")
    print(markdown, end="")
    print(f"\nwrote {out} and {out.with_suffix('.md')}", file=sys.stderr)
    return 0


def _only(names: Sequence[str]) -> Plan:
    """Return the full plan cut down to the named scales, without its naive and /metrics parts."""
    known = {scale.name: scale for scale in FULL.scales}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"python -m bench: unknown scale {', '.join(unknown)} (known: {', '.join(known)})")
    chosen = tuple(known[name] for name in names)
    return replace(FULL, name="-".join(names), scales=chosen, naive_histories=(), series_targets=())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="What one poll costs the Acronis API and the machine, and how it grows.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="the smallest scale only: proves the harness runs"
    )
    parser.add_argument(
        "--scale", action="append", metavar="NAME", help="run only this full-suite scale (repeatable)"
    )
    parser.add_argument("--out", type=Path, help="where to write the JSON (a .md copy goes beside it)")
    parser.add_argument("--render", type=Path, metavar="FILE", help="print the tables of a saved JSON run")
    return parser


if __name__ == "__main__":
    sys.exit(main())
