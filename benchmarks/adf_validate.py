"""ADF schema validation: jirakit's type-directed `validate` beside one plain Draft-4
validator over the whole document, as lists nest deeper.

    .venv/bin/python benchmarks/adf_validate.py [--levels 12] [--budget 20] [--check]

Each document is 200 paragraphs of text and a bullet list nested ``depth`` levels (the
shape of ``tests/adf/test_adf_validate.py``), valid, and again with its innermost text
given a mark ADF does not have (``bold``). Times are the best of three runs (one for the
plain validator). The plain validator is exact but exponential in depth on a document it
rejects (each ``content`` item is an ``anyOf`` over ~20 node definitions, all tried); it
is left out at greater depths once one run takes longer than ``--budget`` seconds.
``--check`` exits 1 when `validate` takes 1 s or more on the deepest document (the bound
the test suite used to assert with a clock).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from jsonschema import Draft4Validator

import jirakit.adf as adf
from jirakit.adf import is_valid
from jirakit.adf.validation import schema

TARGET = 1.0


def document(depth: int, *, broken: bool = False, paragraphs: int = 200) -> dict[str, Any]:
    leaf = adf.text("leaf")
    if broken:
        leaf["marks"] = [{"type": "bold"}]
    inner: dict[str, Any] = adf.bullet_list(adf.list_item(adf.paragraph(leaf)))
    for _ in range(depth):
        inner = adf.bullet_list(adf.list_item("level", inner))
    return adf.doc(*(adf.paragraph("p " * 20) for _ in range(paragraphs)), inner)


def best(function: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, default=12)
    parser.add_argument("--budget", type=float, default=20.0)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    plain = Draft4Validator(schema())
    is_valid(document(0))  # build the per-definition checks once
    print(f"{'':>6}{'valid document':^36}{'a defect at the deepest level':^36}")
    head = f"{'jirakit':>10} {'Draft4Validator':>16} {'ratio':>8} "
    print(f"{'depth':>5} {head}{head}")
    slowest = 0.0
    plain_on = {False: True, True: True}
    for depth in range(args.levels + 1):
        row = f"{depth:>5} "
        for broken in (False, True):
            doc = document(depth, broken=broken)
            assert is_valid(doc) is not broken
            ours = best(lambda doc=doc: is_valid(doc))
            slowest = max(slowest, ours)
            row += f"{ours * 1000:>7.1f} ms "
            if plain_on[broken]:
                theirs = best(lambda doc=doc: plain.is_valid(doc), runs=1)
                plain_on[broken] = theirs < args.budget
                row += f"{theirs * 1000:>13.1f} ms {theirs / ours:>7.0f}x "
            else:
                row += f"{'(left out)':>16} {'':>8} "
        print(row.rstrip(), flush=True)
    if args.check and slowest >= TARGET:
        print(f"validate took {slowest:.2f} s: over {TARGET} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
