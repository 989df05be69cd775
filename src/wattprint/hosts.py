"""Addresses a local server binds: whether one keeps it on this machine.

Shared by the servers that bind 127.0.0.1 unless told otherwise (``wattprint dashboard``,
``wattprint monitor``), which warn when another address opens them to the network."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps a server on this machine ('' and 0.0.0.0: every
    interface, so not)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
