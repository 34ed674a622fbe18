"""Filters the roles share, computed on the controller instead of a module run on the server."""

from __future__ import annotations

import base64
import hashlib


def nginx_ssha(password: str, realm: str) -> str:
    """nginx's salted SHA-1 password form ({SSHA}: SHA-1 of password + salt, then the salt, base64), with the salt
    derived from the realm and the password so the file stays the same between runs. The passwords are long random
    strings pbxctl generates: a slow hash would protect a guessable one, here it would only cost CPU per request."""
    data = str(password).encode()
    salt = hashlib.sha256(f"{realm}:".encode() + data).digest()[:8]
    return "{SSHA}" + base64.b64encode(hashlib.sha1(data + salt).digest() + salt).decode()  # noqa: S324


class FilterModule:
    def filters(self):
        return {"nginx_ssha": nginx_ssha}
