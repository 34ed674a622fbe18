"""Filters the roles share, computed on the controller instead of a module run on the server."""

from __future__ import annotations

import base64
import hashlib

from ansible.errors import AnsibleFilterError


def nginx_htpasswd(logins: dict, context: str) -> str:
    """An nginx auth_basic_user_file for {user: password}: salted SHA-1 ("{SSHA}": base64(SHA-1(password + salt) +
    salt)), one line a user in name order. The salt is derived from the context, the user and the password, so the
    file is the same on every run (it changes only when a login does) and two users with one password still get
    different hashes.

    Why not a slow hash: these passwords are pbxctl's own, 24 random letters and digits (~143 bits,
    pbxctl/secrets.py), not a person's. A slow hash (SHA-512 crypt's 5,000 rounds) only makes guessing a weak
    password dear; nothing guesses 143 bits, while nginx would pay those rounds on every request of every phone."""
    lines = []
    for user in sorted(logins):
        password = str(logins[user])
        if not user or any(c in str(user) for c in ":\n") or "\n" in password:
            raise AnsibleFilterError(f"unusable login for {user!r}")
        data = password.encode()
        salt = hashlib.sha256(f"{context}:{user}:".encode() + data).digest()[:16]
        digest = hashlib.sha1(data + salt).digest()  # noqa: S324 - the scheme nginx reads
        lines.append(f"{user}:{{SSHA}}{base64.b64encode(digest + salt).decode()}\n")
    return "".join(lines)


class FilterModule:
    def filters(self):
        return {"nginx_htpasswd": nginx_htpasswd}
