"""Outside systems the PBX talks to: call records sent after each call, the CRM asked before routing.

Call records (`cdr`): one JSON POST per finished call to each target, each with its own token and its own
retry queue on the PBX (roles/asterisk/files/pbxctl-cdr-webhook), so one CRM that is down holds back nothing
the others should get. `cdr.webhook` is the one-target form kept from before: it is the target named `webhook`.

A target's token lives in secrets.yml under integrations.cdr_<name>.token (`cdr.webhook`: cdr_webhook, as
before), never in site.yml; `auth` names where it goes on each request.

format `amocrm`: the body amoCRM's own API takes for a call note, POST /api/v4/calls with a long-lived token
(Authorization: Bearer …), as documented at https://amocrm.ru/developers/content/crm_platform/calls-api
(fields direction, uniq, duration, source, link, phone, call_status, created_at; call_status 4 = talked,
6 = not reached, 7 = busy). amoCRM files a call by the customer's phone number, so internal calls are not sent.
amoCRM's own Asterisk connector (github.com/iqtek/amocrm_asterisk, "based on the standard amoCRM and Asterisk
integration": a PHP script on the PBX that amoCRM calls with an AMI login holding read/write originate, and a CDR
database) is not offered: it places calls. `integrations.ami` is the read-only account for live events.
"""

from ipaddress import IPv4Network
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator

from .base import KeyProblem, Model, Name
from .urls import PlainUrl, SecretAuth

LEGACY_TARGET = "webhook"  # the target `cdr.webhook` stands for; its token is integrations.cdr_webhook.token
AMOCRM_PATH = "/api/v4/calls"


def token_name(target: str) -> str:
    """The integration a call-record target's token is kept under in secrets.yml (integrations.<this>.token)."""
    return f"cdr_{target}"


class Webhook(Model):
    url: PlainUrl
    timeout: int = Field(5, ge=1, le=60, description="seconds to wait for the webhook's answer")
    auth: SecretAuth | None = Field(None, description="how the token in secrets.yml "
                                    "(integrations.cdr_webhook.token) is sent")


class CdrTarget(Model):
    """One system that gets every call record, with its own token and its own queue of records to send."""

    name: Name = Field(description="its name: the token is integrations.cdr_<name>.token in secrets.yml")
    url: PlainUrl
    timeout: int = Field(5, ge=1, le=60, description="seconds to wait for its answer")
    auth: SecretAuth | None = Field(None, description="how the token in secrets.yml "
                                    "(integrations.cdr_<name>.token) is sent")
    format: Literal["pbxctl", "amocrm"] = Field(
        "pbxctl", description="pbxctl: the record as JSON (README); amocrm: amoCRM's POST /api/v4/calls body")

    @model_validator(mode="after")
    def _amocrm_api(self) -> "CdrTarget":
        if self.format != "amocrm":
            return self
        if urlsplit(self.url).path.rstrip("/") != AMOCRM_PATH:
            raise KeyProblem("url", f"amoCRM takes calls at https://<account>.amocrm.ru{AMOCRM_PATH}")
        if self.auth is None or (self.auth.header or "").lower() != "authorization":
            raise KeyProblem("auth", "amoCRM's API wants its long-lived token as `auth: {header: Authorization}`, "
                             f"with 'Bearer …' in secrets.yml (integrations.{token_name(self.name)}.token)")
        return self


class Cdr(Model):
    csv: bool = Field(True, description="keep Asterisk's CSV call records on the PBX")
    webhook: Webhook | None = Field(None, description="JSON POST after each call (CRM): the one-target form of "
                                    "webhooks, named 'webhook'")
    webhooks: list[CdrTarget] = Field(default_factory=list, description="systems that each get every call record, "
                                      "each with its own token and retry queue")
    recording_base_url: PlainUrl | None = Field(None, description="how the CRM reaches recordings; defaults to "
                                           "https://<pbx address>:8088/recordings/ (the site CA's certificate)")
    crm_networks: list[IPv4Network] = Field(default_factory=list, description="where the CRM fetches recordings "
                                            "from, beyond the office's networks (the firewall opens port 8088 to them)")

    @model_validator(mode="after")
    def _names_once(self) -> "Cdr":
        seen = {LEGACY_TARGET} if self.webhook else set()
        for target in self.webhooks:
            if target.name in seen:
                why = ("is what cdr.webhook is called" if target.name == LEGACY_TARGET and self.webhook
                       else "is used twice")
                raise KeyProblem("webhooks", f"target name '{target.name}' {why}: each target needs its own name "
                                 "(its token is integrations.cdr_<name>.token)")
            seen.add(target.name)
        return self

    def all_targets(self) -> list[CdrTarget]:
        """Every target, `cdr.webhook` first as the one named 'webhook'."""
        legacy = ([CdrTarget(name=LEGACY_TARGET, **self.webhook.model_dump())] if self.webhook else [])
        return legacy + list(self.webhooks)


class CrmLookup(Model):
    url: PlainUrl = Field(description="GET with ?number=+7…; answer names an extension")
    timeout: int = Field(2, ge=1, le=10, description="seconds to wait for the CRM's answer before routing as usual")
    auth: SecretAuth | None = Field(None, description="how the token in secrets.yml (integrations.crm.token) "
                                    "is sent")


# AMI event classes a live-events client may read: calls and their records. Not offered: system, command, config,
# verbose, log, security (they describe or change the server) and originate (placing calls).
AmiEventClass = Literal["call", "cdr", "dtmf", "reporting", "agent", "user", "dialplan", "cc", "aoc"]
AMI_PORT = 5038


class Ami(Model):
    """A read-only Asterisk Manager (AMI) account for live events (screen-pop): it logs in from the listed
    networks only (manager.conf permit, and the firewall opens 5038/tcp to them alone), reads the event classes
    listed and may run no action that changes anything (no write permission: Command, Originate… are refused).
    Its secret is generated into secrets.yml (integrations.ami.secret)."""

    username: Name = Field("pbxctl-events", description="the AMI login")
    networks: list[IPv4Network] = Field(min_length=1, description="where the client connects from")
    events: list[AmiEventClass] = Field(["call", "cdr"], min_length=1,
                                        description="event classes it reads (call: Newchannel, Hangup, Dial…)")

    @model_validator(mode="after")
    def _not_everyone(self) -> "Ami":
        if any(network.prefixlen == 0 for network in self.networks):
            raise KeyProblem("networks", "0.0.0.0/0 would open the manager to the whole Internet: list the "
                             "networks the client connects from")
        return self


class Integrations(Model):
    ami: Ami | None = Field(None, description="a read-only AMI account for live events (off when absent)")
