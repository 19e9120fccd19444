#!/usr/bin/python3
"""Judges "a<TAB>b" pairs (stdin) with rpm's Python binding (`rpm.ver`, Debian's python3-rpm); prints
"a<TAB>b<TAB>-1|0|1", dropping versions rpm rejects. Run with the system python (/usr/bin/python3)."""
import sys

import rpm

for line in sys.stdin:
    a, b = line.rstrip("\n").split("\t")
    try:
        x, y = rpm.ver(a), rpm.ver(b)
    except (ValueError, TypeError):
        continue
    print(f"{a}\t{b}\t{-1 if x < y else (1 if x > y else 0)}")
