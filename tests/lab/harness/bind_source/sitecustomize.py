"""Loaded by SIPVicious tools run from the lab tests: bind their sockets to SIPVICIOUS_SOURCE (svwar 0.3.8
reads -b but never passes it on, so it would scan from the host's main address)."""

import os
import socket

_address = os.environ.get("SIPVICIOUS_SOURCE")
if _address:
    _bind = socket.socket.bind

    def _bind_to_source(self, address):
        if isinstance(address, tuple) and address[0] in ("", "0.0.0.0"):
            address = (_address, *address[1:])
        return _bind(self, address)

    socket.socket.bind = _bind_to_source
