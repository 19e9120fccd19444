#!/usr/bin/env python3
"""Builds the version pairs an oracle will judge, deterministically.

Usage: make_pairs.py SCHEME VERSIONS_FILE > PAIRS   (lines "a<TAB>b")
Pairs are: neighbours in natural-sort order (the close calls: "1.0" vs "1.0-rc1"), random pairs (seeded), and
every pair among a hand-written list of edge cases for the scheme (the oracle decides those too).
"""
import random
import re
import sys

NEIGHBOURS = 1300
RANDOM = 1000

EDGES = {
    "semver": ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
               "1.0.0-rc.1", "1.0.0", "1.0.0+build.5", "1.0.0-0", "1.0.0-a-b", "1.0.0--", "1.0.0-1a", "v1.0.0",
               "1.0", "1", "v2", "2.0.0", "10.0.0", "1.0.0-alpha+001", "1.0.0-x.7.z.92"],
    "npm": ["1.2.3", "v1.2.3", "=1.2.3", " 1.2.3 ", "1.2.3beta", "1.2.3-beta", "1.2.3-beta.01", "1.2.3-beta.1",
            "01.2.3", "1.2.3-", "1.2.3--", "1.2.3-0", "1.2.3-alpha+build", "v=1.2.3", "1.2.3-a.b.c", "1.2.3-a.10",
            "1.2.3-a.9", "9007199254740991.0.0", "1.2.3-1a", "1.2.3-.a", "1.2.4"],
    "go": ["v1", "v1.2", "v1.2.0", "v1.2.3-pre", "v1.2.3-pre.0.20200101000000-abcdef123456",
           "v1.2.4-0.20200101000000-abcdef123456", "v0.0.0-20191109021931-daa7c04131f5",
           "v0.0.0-20191109021931-daa7c04131f6", "v2.0.0+incompatible", "v2.0.1+incompatible", "v1.2.3", "1.2.3",
           "v1.10.0", "v1.9.0", "v1.2.3-rc.1", "v1.2.3-rc.10", "v1.2.3-rc.2"],
    "pep440": ["1.0.dev1", "1.0a1", "1.0a1.dev1", "1.0b2.post3", "1.0rc1", "1.0", "1.0.post1", "1.0+local.1",
               "1.0+local.a", "1!0.1", "v1.0", "1.0-1", "1.0.0", "1.0c1", "1.0-preview2", "1.0a..post", "2.0.0.0.1",
               "1.0+1", "1.0+a", "1.0.post1.dev2", "1.99999999999999999999999", "1.100000000000000000000000",
               "1.0.0a0", "1.0.dev0", "1.0+UBUNTU-1", "1.0+ubuntu.1", "1.0RC1"],
    "maven": ["1", "1.0", "1.0.0", "1-SNAPSHOT", "1.0-alpha-1", "1.0-alpha1", "1.0a1", "1.0-beta", "1.0-RC1",
              "1.0-cr1", "1.0.Final", "1.0-ga", "1.0-sp1", "1.0-foo", "1.0.foo", "1-1", "1.1", "1.0.0.x1", "1.0.0-x2",
              "2.0.0.RELEASE", "1.0-m1", "1.0-milestone-1", "1.0-20201010.123456-1", "1.99999999999999999999999",
              "1.100000000000000000000000", "1.0.0.0.0.1", "1.0-1-SNAPSHOT", "1.0--1", "1.0.", "1..0"],
    "rubygems": ["1.0", "1.0.0", "1", "1.0.a", "1.0.b1", "1.0.0.rc1", "1.0.0-rc1", "1.0.0.pre", "1.0.0.pre.rc1",
                 "1.A", "1.a", "1.0a", "2.0.0.beta.2", "2.0.0.beta.10", "1.0.0-1", "0.beta.1", "0.0.beta.1",
                 "1.99999999999999999999999", "1.100000000000000000000000", " 1.0 ", "1.0.0.0.0.1"],
    "composer": ["1.0.0", "v1.0", "1.0.0.0", "1.0.0-beta2", "1.0.0-b2", "1.0.0-beta.2", "1.0.0-RC1", "1.0.0-rc1",
                 "1.0.0-alpha", "1.0.0-dev", "1.0.x-dev", "dev-master", "dev-feature/foo", "1.0.0-patch1",
                 "1.0.0-pl1", "1.0.0-stable", "2010-01-02", "20100102", "1.0.0+build", "1.0.0@beta",
                 "1.0.0-beta2-dev", "1.0.0-beta1.2", "1.0.0-beta1-2", "1.0.1", "2.x-dev", "1.0.0-STABLE"],
    "dpkg": ["1.0", "1.0-0", "0:1.0", "1:1.0", "1.0~rc1", "1.0~~", "1.0~~a", "1.0~", "1.0a", "1.0+", "1.0-1",
             "1.0-1.1", "1.0-1~bpo1", "2.0.12", "2.0.9", "1:1.18.36:5.4", "1.0+dfsg-1", "1.0.0~alpha+1", "1.2.3-4-5",
             "1.99999999999999999999999", "1.100000000000000000000000", "2:1.0-1", "1.0-1+b1", "1.0-1+deb12u1",
             "1.0.", "1.0.0", "a1.0"],
    "rpm": ["1.0", "1.0-1", "0:1.0-1", "1:1.0-1", ":1.0-1", "1.0~rc1-1", "1.0^git1-1", "1.0^-1", "1.0-1.el8",
            "1.0-1.el8_2", "1.0-1.el8_10", "1.0a-1", "1.0.a-1", "1.0_1-1", "2.0.1a", "5.5p1", "5.5.p1", "10xyz",
            "10.1xyz", "1.0aa", "1.99999999999999999999999-1", "1.100000000000000000000000-1", "1.0-", "1.0-1-1",
            "1.0-~1", "1.0-^1", "01.0-1"],
    "apk": ["1.0", "1.0-r0", "1.0-r1", "1.0_alpha1", "1.0_beta", "1.0_pre1", "1.0_rc3", "1.0_p1", "1.0_git20200101",
            "1.0_cvs", "1.0_svn", "1.0_hg", "1.0a", "1.0b", "1.02", "1.1", "1.0.0", "1.0~abc", "1.0~abd-r1",
            "1.0_alpha_pre2", "1.0_p1-r1", "1.99999999999999999999999", "1.100000000000000000000000", "0.9.9z",
            "1.0.0_pre20191002222144-r0"],
}


def natural_key(text):
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.findall(r"\d+|\D+", text)]


def main():
    scheme, path = sys.argv[1], sys.argv[2]
    rng = random.Random(f"bulwark-{scheme}")
    versions = [line.rstrip("\n") for line in open(path, encoding="utf-8") if line.strip()]
    versions = sorted(set(versions), key=lambda v: (natural_key(v), v))
    pairs = []
    neighbours = list(zip(versions, versions[1:]))
    if len(neighbours) > NEIGHBOURS:
        neighbours = rng.sample(neighbours, NEIGHBOURS)
    pairs += neighbours
    if len(versions) > 1:
        for _ in range(RANDOM):
            a, b = rng.sample(versions, 2)
            pairs.append((a, b))
    edges = EDGES.get(scheme, [])
    for i, a in enumerate(edges):
        for b in edges[i:]:
            pairs.append((a, b))
    seen = set()
    for a, b in pairs:
        if (a, b) not in seen and (b, a) not in seen:
            seen.add((a, b))
            print(f"{a}\t{b}")


main()
