"""Fixtures for the differential test: a real redis-server and slotcore side by side.

SLOTCORE_BIN picks the slotcore binary (default <repo>/target/release/slotcore). Both servers
listen on free 127.0.0.1 ports, run in their own temp dirs, are killed by PID on teardown, and
slotcore's log is attached to the report of every failed test.
"""

import atexit
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from resp import Conn, ConnectionClosed  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REDIS_BIN = os.environ.get("REDIS_SERVER_BIN") or shutil.which("redis-server") or "/usr/bin/redis-server"
SLOTCORE_BIN = os.environ.get("SLOTCORE_BIN") or os.path.join(REPO, "target", "release", "slotcore")
START_TIMEOUT = 15.0
LOG_TAIL_LINES = 80


def _port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port():
    """A free loopback port whose +10000 companion (cluster bus) is free as well."""
    for _ in range(200):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port < 55000 and _port_free(port + 10000):
            return port
    raise RuntimeError("no free port pair found")


class ServerProc:
    def __init__(self, name, argv_fn):
        self.name = name
        self.argv_fn = argv_fn  # (port, dir) -> argv
        self.proc = None
        self.port = None
        self.dir = None
        self.log_path = None
        self.log_file = None
        self.control = None
        self.dirs = []

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="difftest-%s-" % self.name)
        self.dirs.append(self.dir)
        self.port = free_port()
        self.log_path = os.path.join(self.dir, "server.log")
        self.log_file = open(self.log_path, "wb")
        argv = self.argv_fn(self.port, self.dir)
        self.proc = subprocess.Popen(argv, cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.time() + START_TIMEOUT
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s during start-up:\n%s"
                                   % (self.name, self.proc.returncode, self.log_tail()))
            try:
                c = Conn(self.port, timeout=2.0)
                r = c.call("PING")
                if r == ("+", "PONG"):
                    self.control = c
                    return
                c.close()
                last = r
            except (OSError, ConnectionClosed) as e:
                last = e
            time.sleep(0.05)
        self.kill()
        raise RuntimeError("%s did not answer PING within %ss (last: %r):\n%s"
                           % (self.name, START_TIMEOUT, last, self.log_tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, 9)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if self.log_file is not None:
            self.log_file.close()
            self.log_file = None

    def log_tail(self, n=LOG_TAIL_LINES):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except (OSError, TypeError):
            return "<no log>"
        return "\n".join(lines[-n:])

    def exe(self):
        try:
            return os.path.realpath("/proc/%d/exe" % self.proc.pid)
        except OSError:
            return ""


def redis_argv(port, d):
    return [REDIS_BIN, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--enable-debug-command", "yes", "--daemonize", "no",
            "--dir", d]


def slotcore_argv(port, d):
    return [SLOTCORE_BIN, "--port", str(port), "--bind", "127.0.0.1", "--shards", "2",
            "--save", "", "--dir", d, "--enable-debug-command", "yes"]


class Servers:
    def __init__(self):
        self.redis = ServerProc("redis", redis_argv)
        self.slotcore = ServerProc("slotcore", slotcore_argv)
        self.standin = False

    def start(self):
        self.redis.start()
        try:
            self.slotcore.start()
        except BaseException:
            # Nothing may outlive a failed start: stop what did start.
            self.stop()
            raise
        # The harness can be proven against a redis-server posing as slotcore (a wrapper
        # script that execs redis-server); detect that so cluster-mode-only assertions skip.
        self.standin = self.slotcore.exe() == os.path.realpath(REDIS_BIN)
        self.slotcore_cluster = self._cluster_enabled(self.slotcore)

    @staticmethod
    def _cluster_enabled(server):
        """Whether a server says cluster_enabled:1 in INFO cluster (HELLO then reports mode cluster)."""
        try:
            r = server.control.call("INFO", "cluster")
        except (OSError, ConnectionClosed):
            return False
        return r[0] == "$" and b"cluster_enabled:1" in r[1]

    def ensure_alive(self):
        for s in (self.redis, self.slotcore):
            if not s.alive():
                s.kill()
                s.start()
        self.slotcore_cluster = self._cluster_enabled(self.slotcore)

    def reset_state(self):
        """Bring both servers to an empty, default state before each test."""
        for s in (self.redis, self.slotcore):
            try:
                c = s.control
                try:
                    c.call("PING")
                except (OSError, ConnectionClosed):
                    # a test may have killed it (CLIENT KILL TYPE normal): reconnect
                    c.close()
                    c = s.control = Conn(s.port, timeout=2.0)
                c.call("FLUSHALL")
                c.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
                c.call("CONFIG", "SET", "maxmemory-policy", "noeviction")
                c.call("CONFIG", "SET", "proto-max-bulk-len", "536870912")
                c.call("CONFIG", "SET", "timeout", "0")
                c.call("CONFIG", "SET", "hll-sparse-max-bytes", "3000")
            except (OSError, ConnectionClosed):
                s.kill()
                s.start()

    def wait_idle(self, timeout=1.0):
        """Wait until connections of the previous test are gone (CLIENT LIST must not see them)."""
        deadline = time.time() + timeout
        for s in (self.redis, self.slotcore):
            while time.time() < deadline:
                try:
                    r = s.control.call("INFO", "clients")
                except (OSError, ConnectionClosed):
                    break
                m = r[0] == "$" and re.search(rb"connected_clients:(\d+)", r[1])
                if not m or int(m.group(1)) <= 1:
                    break
                time.sleep(0.02)

    def stop(self):
        self.slotcore.kill()
        self.redis.kill()
        if not os.environ.get("DIFF_KEEP_DIRS"):  # the log tails are already in the report
            for s in (self.slotcore, self.redis):
                for d in s.dirs:
                    shutil.rmtree(d, ignore_errors=True)
                s.dirs = []


_SERVERS = None


@pytest.fixture(scope="session")
def servers(request):
    global _SERVERS
    if not os.path.exists(REDIS_BIN):
        pytest.skip("redis-server not found (set REDIS_SERVER_BIN)")
    if not os.path.exists(SLOTCORE_BIN):
        pytest.skip("slotcore binary not found at %s (set SLOTCORE_BIN)" % SLOTCORE_BIN)
    s = Servers()
    request.addfinalizer(s.stop)
    atexit.register(s.stop)  # belt and braces: also on an abnormal interpreter exit
    _SERVERS = s
    s.start()
    return s


@pytest.fixture
def srv(servers):
    servers.ensure_alive()
    servers.reset_state()
    servers.wait_idle()
    return servers


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and _SERVERS is not None:
        sc = _SERVERS.slotcore
        state = "running" if sc.alive() else "EXITED rc=%s" % (sc.proc.returncode if sc.proc else None)
        rep.sections.append(("slotcore log (%s, %s)" % (state, sc.log_path), sc.log_tail()))


def pytest_terminal_summary(terminalreporter):
    """List the known, documented divergences that were exercised but not compared."""
    try:
        from test_differential import KNOWN_GAPS
    except ImportError:
        return
    if KNOWN_GAPS:
        terminalreporter.write_sep("-", "known gaps (docs/COMPATIBILITY.md), not compared")
        for line in sorted(set(KNOWN_GAPS)):
            terminalreporter.write_line(line)
