"""Starting and stopping the bot's processes on free ports (benchmarks and end-to-end tests)."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import PROJECT_ROOT

RASA = str(Path(sys.executable).parent / "rasa")

REST_TOKEN = "stack-rest-token-not-secret"
"""The test and benchmark stacks' REST channel token (``connectors.rest``)."""
ACTION_TOKEN = "stack-action-token-not-secret"
TEST_CREDENTIALS = str(PROJECT_ROOT / "tests" / "credentials.yml")
"""The project's channels plus the token-protected REST channel."""
REST_HEADERS = {"Content-Type": "application/json", "Authorization": f"Bearer {REST_TOKEN}"}


def stack_env() -> dict[str, str]:
    """What every process of a test or benchmark stack is given: REST on, the shared secret."""
    return {
        "DIGITUKI_RASA_CREDENTIALS": TEST_CREDENTIALS,
        "DIGITUKI_REST_TOKEN": REST_TOKEN,
        "DIGITUKI_ACTION_TOKEN": ACTION_TOKEN,
    }


class StackError(RuntimeError):
    """A process did not start; the message holds the tail of its log."""


_LISTEN_PORTS = range(20000, 32768)
"""Where the stacks' servers listen: below Linux's usual ephemeral range (32768-60999).

A port the kernel hands out for ``bind(0)`` comes from the ephemeral range, the
same range the outgoing connections of the processes being started (to
PostgreSQL, Redis, RabbitMQ) take their local ports from, so one of them can
take the port before its server binds it, and that server exits at start.
"""
_handed_out: set[int] = set()


def _ephemeral_range() -> range:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return range(int(low), int(high) + 1)
    except (OSError, ValueError):
        return range(32768, 61000)


def free_port() -> int:
    """A port on 127.0.0.1 free now, outside the ephemeral range, not handed out before.

    Never the same port twice in one test run, so two servers of one stack
    cannot be given one port.
    """
    ephemeral = _ephemeral_range()
    candidates = [p for p in _LISTEN_PORTS if p not in ephemeral and p not in _handed_out]
    random.shuffle(candidates)
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket() as sock:  # every listening port taken: let the kernel choose
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Processes:
    """Processes started together, each with its log file; stopped together."""

    folder: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    running: list[tuple[str, subprocess.Popen[bytes], Path]] = field(default_factory=list)
    commands: dict[str, tuple[list[str], Path, dict[str, str]]] = field(default_factory=dict)

    def start(
        self,
        name: str,
        command: Sequence[str],
        cwd: Path = PROJECT_ROOT,
        env: Mapping[str, str] | None = None,
    ) -> int:
        """Starts ``command`` (``env``: variables of its own on top of :attr:`env`).

        Its output goes to ``<folder>/<name>.log``. Returns the pid.
        """
        log = self.folder / f"{name}.log"
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env={**self.env, **(env or {})},
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        self.running.append((name, process, log))
        self.commands[name] = (list(command), cwd, dict(env or {}))
        return process.pid

    def restart(self, name: str, *, kill: bool = False) -> int:
        """Stops ``name`` (``kill``: without a chance to clean up) and starts it again."""
        entry = next(e for e in self.running if e[0] == name)
        process = entry[1]
        if kill:
            process.kill()
        else:
            process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self.running.remove(entry)
        command, cwd, env = self.commands[name]
        return self.start(name, command, cwd, env)

    def halt(self, name: str, *, kill: bool = True) -> None:
        """Stops ``name`` (``kill``: SIGKILL, no chance to clean up); :meth:`again` restarts it."""
        entry = next(e for e in self.running if e[0] == name)
        if kill:
            entry[1].kill()
        else:
            entry[1].terminate()
        try:
            entry[1].wait(timeout=20)
        except subprocess.TimeoutExpired:
            entry[1].kill()
            entry[1].wait()
        self.running.remove(entry)

    def again(self, name: str) -> int:
        """Starts a halted process with its command and variables."""
        command, cwd, env = self.commands[name]
        return self.start(name, command, cwd, env)

    def wait_for(self, url: str, timeout_s: float = 240) -> None:
        """Waits until ``url`` answers; fails early when a process has exited."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except OSError:
                if any(p.poll() is not None for _, p, _ in self.running):
                    break
                time.sleep(0.5)
        exited = [
            f"{name} (exit code {p.returncode})"
            for name, p, _ in self.running
            if p.poll() is not None
        ]
        # the exited processes' logs first: they say why
        ordered = sorted(self.running, key=lambda entry: entry[1].poll() is None)
        tails = "\n".join(
            f"--- {name}.log\n{log.read_text(errors='replace')[-3000:]}" for name, _, log in ordered
        )
        why = f"; exited: {', '.join(exited)}" if exited else f" within {timeout_s:g} s"
        raise StackError(f"{url} did not answer{why}\n{tails}")

    def pid(self, name: str) -> int:
        return next(p.pid for n, p, _ in self.running if n == name)

    def stop(self) -> None:
        for _, process, _ in self.running:
            process.terminate()
        for _, process, _ in self.running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        self.running.clear()


def resident_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB (Linux ``/proc``)."""
    total_kb = 0
    for child in [pid, *_children(pid)]:
        try:
            status = Path(f"/proc/{child}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


def _children(pid: int) -> list[int]:
    found = []
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        for task in tasks:
            for child in (task / "children").read_text().split():
                found += [int(child), *_children(int(child))]
    except OSError:
        pass
    return found
