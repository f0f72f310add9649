"""The ``graphrnn`` command (also ``python -m graphrnn`` and ``python -m simulator``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import simulator

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphrnn",
        description="Simulate recurrent neural networks of any wiring, drawn as NetworkX graphs.",
    )
    parser.add_argument("--version", action="version", version=f"graphrnn {simulator.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="build, run, train and picture a few networks",
        description="The four-neuron network step by step and in continuous time (Euler at "
        "dt = 0.2, 0.1, 0.05 beside the ODE solution), a 1,000-neuron echo-state reservoir, a "
        "Hopfield recall, and a small graph trained on the word-order task by backpropagation "
        "through time (accuracy before and after); with a PNG of it all when matplotlib is installed.",
    )
    demo.add_argument("--out", default="graphrnn_demo.png", help="where to write the PNG (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=0, help="seed of every random choice (default: %(default)s)")
    bench = commands.add_parser(
        "bench",
        help="measure the speed ratios against scipy.sparse (and PyTorch, if installed)",
        description="Times graphrnn against the loops a user would otherwise write, on this machine, "
        "and prints each ratio beside its target.",
    )
    bench.add_argument("--quick", action="store_true", help="smaller sizes, shorter timings (~half a minute)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``graphrnn`` command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import demo

        folder = Path(args.out).resolve().parent
        if not folder.is_dir():
            parser.error(f"--out {args.out}: the folder {folder} does not exist")
        return demo(out=args.out, seed=args.seed)
    if args.command == "bench":
        from .bench import bench

        bench(quick=args.quick)
        return 0
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
