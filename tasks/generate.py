#!/usr/bin/env python3
"""Deterministic generator for the iclprune in-context-learning task suite.

Every fact, word list, template and sentence of the generators was written for the iclprune project
(no text is copied from any existing benchmark).  Running this script writes

    tasks/data/<task>/train.jsonl
    tasks/data/<task>/validation.jsonl
    tasks/<task>.yaml                (an EleutherAI lm-eval 0.4.x task config)

for the 16 tasks registered in ``TASKS``.  Output is byte-identical on every run: each task draws from
its own ``random.Random`` seeded with a fixed string, and nothing iterates over a set or dict whose order
could vary.  Standard library only.

This file is only the command line.  The code lives in the package ``tasks/generators/``:
``common.py`` (shared helpers: ``TaskSpec``, seeded RNGs, split helpers), one module per task
(``icl_copa.py``, ``icl_arith.py``, ...: the task's word lists and its ``gen_*`` function) and
``suite.py`` (the ``TASKS`` registry, validation, YAML / JSONL writers and ``check``).

Usage::

    python tasks/generate.py            # (re)write all files next to this script
    python tasks/generate.py --check    # regenerate into a temp dir; exit 1 if anything differs
    python tasks/generate.py --out DIR  # write somewhere else
    python tasks/generate.py --table    # print the task table used in tasks/README.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

TASK_DIR = Path(__file__).resolve().parent
if str(TASK_DIR) not in sys.path:  # also when loaded by file path (tests), not run as a script
    sys.path.insert(0, str(TASK_DIR))

from generators.common import render  # noqa: E402
from generators.suite import (  # noqa: E402
    TASKS,
    build_all,
    check,
    finalize,
    generated_paths,
    jsonl_text,
    markdown_table,
    write_all,
    yaml_text,
)

__all__ = [
    "TASKS",
    "build_all",
    "check",
    "finalize",
    "generated_paths",
    "jsonl_text",
    "main",
    "markdown_table",
    "render",
    "write_all",
    "yaml_text",
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="verify committed files match the generator")
    ap.add_argument("--out", type=Path, default=TASK_DIR, help="output directory (default: tasks/)")
    ap.add_argument("--table", action="store_true", help="print the README task table and exit")
    args = ap.parse_args(argv)
    if args.table:
        print(markdown_table(), end="")
        return 0
    if args.check:
        problems = check(args.out)
        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            print(
                f"{len(problems)} problem(s); run `python tasks/generate.py` to regenerate", file=sys.stderr
            )
            return 1
        print(f"OK: {len(TASKS)} tasks match the generator")
        return 0
    files = build_all()
    write_all(args.out, files)
    stale = [rel for rel in generated_paths(args.out) if rel not in files]
    for rel in stale:
        print(f"warning: stale file not produced by the generator: {rel}", file=sys.stderr)
    print(f"wrote {len(files)} files for {len(TASKS)} tasks under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
