"""Addresses of outside systems (CRM, webhooks) and how pbxctl logs in to them, with the secret kept apart.

A URL in site.yml is plain text: it is printed by `plan`, kept in git and sent to the PBX in vars.yml. So it
may not carry a login (user:password@) or a secret-looking query parameter; the secret goes to secrets.yml
under integrations.<name>.token and travels in the header or query parameter `auth` names.
"""

import re
from typing import Annotated
from urllib.parse import parse_qsl, urlsplit

from pydantic import AfterValidator, Field, model_validator

from .base import Model

# query parameter names that carry credentials in the APIs integrators meet (tokens, keys, signatures, sessions)
SECRET_QUERY = re.compile(r"(token|key|secret|pass|pwd|auth|sig|session|sid|credential|bearer)", re.IGNORECASE)


def _check_plain_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"'{value}' is not an http(s) URL")
    if "@" in parts.netloc:
        raise ValueError("the URL carries a login (user:password@): site.yml is plain text; keep the secret in "
                         "secrets.yml and name how it is sent with `auth`")
    secret = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True) if SECRET_QUERY.search(name)]
    if secret:
        raise ValueError(f"the URL carries a secret in its query ({', '.join(secret)}): site.yml is plain text; "
                         f"set `auth: {{query: {secret[0]}}}` and put the value in secrets.yml with "
                         "`pbxctl secrets set`")
    return value


def _check_firmware_url(value: str) -> str:
    # phones fetch firmware over HTTP(S) or TFTP; the URL is written into their files and kept in git
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https", "tftp") or not parts.hostname:
        raise ValueError(f"'{value}' is not an http(s) or tftp URL")
    if "@" in parts.netloc:
        raise ValueError("the URL carries a login (user:password@): site.yml is plain text and phones show it; serve "
                         "firmware without a login")
    return value


FirmwareUrl = Annotated[str, AfterValidator(_check_firmware_url),
                        Field(description="http(s) or tftp URL without a login")]
PlainUrl = Annotated[str, AfterValidator(_check_plain_url),
                     Field(description="http(s) URL without credentials (they go to secrets.yml, see `auth`)")]


class SecretAuth(Model):
    """Where the token from secrets.yml goes on each request: one HTTP header, or one query parameter."""

    header: str | None = Field(None, pattern=r"^[A-Za-z0-9-]{1,64}$",
                               description="HTTP header carrying the token as written in secrets.yml, e.g. "
                               "Authorization (token 'Bearer …') or X-Api-Key")
    query: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$",
                              description="query parameter carrying the token, for APIs that want ?token=…")

    @model_validator(mode="after")
    def _one_place(self) -> "SecretAuth":
        if (self.header is None) == (self.query is None):
            raise ValueError("give exactly one of header or query")
        return self
