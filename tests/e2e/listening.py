"""What a running stack exposes: its listening sockets and its processes' command lines."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class Listener:
    """One listening TCP socket of a process."""

    process: str
    pid: int
    host: str
    port: int


def process_tree(pids: Iterable[int]) -> list[psutil.Process]:
    """The processes ``pids`` and all their descendants (alive now)."""
    found: dict[int, psutil.Process] = {}
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for process in (root, *root.children(recursive=True)):
                found[process.pid] = process
        except psutil.NoSuchProcess:
            continue
    return list(found.values())


def listeners(pids: Iterable[int]) -> list[Listener]:
    """Every listening TCP socket (IPv4 and IPv6) of ``pids`` and their descendants."""
    found = []
    for process in process_tree(pids):
        try:
            sockets = process.net_connections(kind="inet")
            name = " ".join(process.cmdline()[1:4])
        except psutil.NoSuchProcess:
            continue
        for sock in sockets:
            if sock.status == psutil.CONN_LISTEN:
                found.append(Listener(name, process.pid, sock.laddr.ip, sock.laddr.port))
    return found


def command_lines(pids: Iterable[int]) -> list[str]:
    """The command lines of ``pids`` and their descendants, as ``ps`` shows them."""
    lines = []
    for process in process_tree(pids):
        try:
            lines.append(" ".join(process.cmdline()))
        except psutil.NoSuchProcess:
            continue
    return lines
