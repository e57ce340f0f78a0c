"""Column-wise comparison of re-recorded golden tables against a git revision (default HEAD).

    python scripts/golden_columns.py [REV]

For every golden CSV that differs from REV: the columns whose values changed (must be none
when only columns were added) and the columns added. Exit 1 if an existing column changed.
"""
from __future__ import annotations

import csv
import io
import subprocess
import sys


def main(argv: list[str]) -> int:
    rev = argv[0] if argv else "HEAD"
    files = subprocess.run(["git", "diff", "--name-only", rev, "--", "tests/golden/data"], capture_output=True,
                           text=True, check=True).stdout.split()
    changed_total = 0
    for f in files:
        old = list(csv.reader(io.StringIO(subprocess.run(["git", "show", f"{rev}:{f}"], capture_output=True,
                                                         text=True, check=True).stdout)))
        with open(f, newline="", encoding="utf-8") as fh:
            new = list(csv.reader(fh))
        oh, nh = old[0], new[0]
        if len(old) != len(new):
            print(f"{f}: {len(old) - 1} rows before, {len(new) - 1} now")
            changed_total += 1
            continue
        changed = [c for c in oh if c not in nh
                   or any(r[oh.index(c)] != q[nh.index(c)] for r, q in zip(old[1:], new[1:]))]
        changed_total += len(changed)
        print(f"{f}: changed {changed or 'none'}; added {[c for c in nh if c not in oh] or 'none'}")
    print(f"existing columns changed: {changed_total}")
    return 1 if changed_total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
