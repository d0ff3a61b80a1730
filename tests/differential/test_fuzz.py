"""The differential fuzzer (fuzz.py) with fixed seeds, as part of the differential suite.

Each test runs a block of seeded sequences against redis-server 7.0 and slotcore (the session's
servers, see conftest.py) and fails with the minimal reproducer of the first divergence. The
generated sequences depend on the commands slotcore lists (COMMAND LIST), so they grow with it.
More seeds, for longer: scripts/fuzz MINUTES (see tests/differential/README.md).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fuzz  # noqa: E402

# 5 x 30 sequences of 80 steps: well under a minute on a loaded 2-CPU machine.
# DIFF_FUZZ_SEQUENCES=N runs N per block instead.
SEQUENCES_PER_BLOCK = int(os.environ.get("DIFF_FUZZ_SEQUENCES", "30"))
LENGTH = 80
BLOCKS = [1, 1001, 2001, 3001, 4001]  # first seed of each block


@pytest.fixture(scope="module")
def runner(servers):
    return fuzz.Runner(servers.redis.port, servers.slotcore.port, servers.slotcore.alive)


@pytest.mark.parametrize("first_seed", BLOCKS)
def test_fuzz_seeds(srv, runner, first_seed):
    commands = runner.commands()
    for seed in range(first_seed, first_seed + SEQUENCES_PER_BLOCK):
        steps = fuzz.generate(seed, LENGTH, commands)
        rep = runner.check(steps)
        if rep is not None:
            pytest.fail(fuzz.format_report(rep, seed), pytrace=False)


def test_generation_is_deterministic():
    commands = {"set", "get", "del", "hset", "sadd", "lpush", "zadd", "setbit", "pfadd", "multi",
                "watch", "exec", "discard", "expire", "ttl"}
    a = [s.cli() for s in fuzz.generate(42, 100, commands)]
    b = [s.cli() for s in fuzz.generate(42, 100, commands)]
    assert a == b
    assert {s.split()[0] for s in a} - {c.upper() for c in commands} <= {"HELLO", "[second"}


def test_minimiser_keeps_only_what_the_divergence_needs():
    """ddmin against a fake server pair: the last step diverges only after steps 'A' and 'B'."""
    class Fake(fuzz.Runner):
        def __init__(self):
            super().__init__(0, 0)

        def execute(self, steps, stop_at_first=True):
            self.replays += 1
            names = [s.args[0] for s in steps]
            if b"LAST" in names:
                at = names.index(b"LAST")
                if b"A" in names[:at] and b"B" in names[:at]:
                    return [(at, ("+", "x"), ("+", "y"), ("+", "x"), ("+", "y"))]
            return []

    steps = [fuzz.Step([n]) for n in ["x1", "A", "x2", "x3", "x4", "B", "x5", "LAST", "x6"]]
    r = Fake()
    rep = r.check(steps)
    assert [s.args[0] for s in rep["minimal"]] == [b"A", b"B", b"LAST"]
    text = fuzz.format_report(rep, 7)
    assert "A\n    B\n    LAST" in text and "seed 7" in text


def test_cli_quoting():
    assert fuzz.cli_quote(b"{t}a") == "{t}a"
    assert fuzz.cli_quote(b"") == '""'
    assert fuzz.cli_quote(b'a "b"\\\x00\xff\n') == '"a \\"b\\"\\\\\\x00\\xff\\n"'
