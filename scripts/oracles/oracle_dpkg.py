#!/usr/bin/env python3
"""Judges "a<TAB>b" pairs (stdin) with `dpkg --compare-versions`; prints "a<TAB>b<TAB>-1|0|1", dropping pairs
that dpkg rejects (dpkg only warns about some bad syntax and still compares; those pairs are kept)."""
import subprocess
import sys


def holds(a, op, b):
    result = subprocess.run(["dpkg", "--compare-versions", a, op, b], capture_output=True)
    if result.returncode not in (0, 1):
        return None
    return result.returncode == 0


for line in sys.stdin:
    a, b = line.rstrip("\n").split("\t")
    lt = holds(a, "lt", b)
    if lt is None:
        continue
    print(f"{a}\t{b}\t{-1 if lt else (0 if holds(a, 'eq', b) else 1)}")
