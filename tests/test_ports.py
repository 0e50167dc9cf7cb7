"""portal.ports: free loopback ports for the servers the portal, its benchmark and its tests start."""
from __future__ import annotations

import socket

from portal.ports import free_loopback_port, free_loopback_ports


def test_ports_are_distinct_and_free():
    ports = free_loopback_ports(4)
    assert len(set(ports)) == 4 and all(1024 < p < 65536 for p in ports)
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # still free: binding it again works


def test_one_port():
    assert 1024 < free_loopback_port() < 65536
