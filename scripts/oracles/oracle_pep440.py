#!/usr/bin/env python3
"""Judges "a<TAB>b" pairs (stdin) with `packaging.version.Version`; prints "a<TAB>b<TAB>-1|0|1", dropping
versions that `packaging` rejects."""
import sys

from packaging.version import InvalidVersion, Version

for line in sys.stdin:
    a, b = line.rstrip("\n").split("\t")
    try:
        x, y = Version(a), Version(b)
    except InvalidVersion:
        continue
    print(f"{a}\t{b}\t{-1 if x < y else (1 if x > y else 0)}")
