"""Free TCP ports on the loopback interface, for the servers the portal and its tools start."""
from __future__ import annotations

import socket


def free_loopback_ports(count: int = 1) -> list[int]:
    """``count`` ports free on 127.0.0.1 (all held open together, so no two are the same)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_loopback_port() -> int:
    return free_loopback_ports(1)[0]
