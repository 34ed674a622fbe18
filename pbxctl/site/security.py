"""Toll-fraud guard and hardening."""

from ipaddress import IPv4Network
from typing import Annotated

from pydantic import AfterValidator, Field

from ..security import e164_prefix
from .base import Model, Name
from .urls import PlainUrl, SecretAuth


def _prefix(text: str) -> str:
    # the guard compiles each prefix into an Asterisk pattern of its own: digits only, it refuses what follows
    try:
        e164_prefix(text)
    except ValueError:
        wild = str(text).rstrip("XZN.")
        hint = (f"; a prefix already covers every number after it: write {wild}" if wild != str(text) and wild
                else "")
        raise ValueError(f"'{text}' is not an international prefix (+ then the country code and digits){hint}")\
            from None
    return text


BlockedPrefix = Annotated[str, AfterValidator(_prefix)]


class Fail2ban(Model):
    maxretry: int = Field(5, ge=1, le=100, description="failures within findtime before an address is banned")
    findtime: int = Field(600, ge=10, description="seconds")
    bantime: int = Field(3600, ge=10, description="seconds")


class Alerts(Model):
    webhook: PlainUrl | None = Field(None, description="URL that gets each alert as JSON")
    webhook_auth: SecretAuth | None = Field(None, description="how the token in secrets.yml "
                                            "(integrations.alerts_webhook.token) is sent")
    syslog: bool = Field(True, description="log alerts to the PBX's syslog")
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+$", description="address that gets each alert by mail")
    mail_relay: str | None = Field(None, description="SMTP relay for alert mails")
    outbound_minutes_per_hour: int | None = Field(None, ge=1,
                                                  description="alert when outgoing minutes in an hour exceed this")


class Security(Model):
    sip_allowed_networks: list[IPv4Network] = Field(default_factory=list,
                                                    description="beyond local networks and trunks")
    admin_networks: list[IPv4Network] = Field(default_factory=list, description="SSH allowed from")
    fail2ban: Fail2ban = Field(default_factory=Fail2ban, description="banning addresses that fail SIP authentication")
    alerts: Alerts = Field(default_factory=Alerts, description="where security alerts go")
    max_outbound_calls: int = Field(10, ge=1, le=1000, description="global concurrent outbound cap")
    international_hours: Name | None = Field(None,
                                             description="a schedule outside which international calls are refused")
    blocked_prefixes: list[BlockedPrefix] = Field(default_factory=list, description="international prefixes (+ and "
                                                  "digits) refused on top of the built-in list")
