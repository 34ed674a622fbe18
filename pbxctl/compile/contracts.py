"""The contract between compile and each role: one pydantic model per role's variables, nested types included.

Compile validates every role's variables against its model (a key no model declares, or a value of the wrong
type, is a bug in compile, raised at once); pbxctl.argspecs writes each role's meta/argument_specs.yml from the
same model, so Ansible checks the same contract when the role starts. Items that are a site object as the site
file has it, plus what compile adds, extend the site model's own class: one definition of each field.
"""

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from ..numbers import NumberFormat
from ..site.continuity import ScheduledBackup
from ..site.encryption import SipTls
from ..site.extensions import Extension
from ..site.features import Conference
from ..site.integrations import Ami, CdrTarget
from ..site.pbx import Install
from ..site.router import Router
from ..site.routing import Cdr, CrmLookup, InboundRoute, Ivr, IvrOption, OutboundRoute, Queue, Recording, RingGroup
from ..site.security import Alerts, Fail2ban
from ..site.trunks import GsmDongleTrunk, SipIpTrunk, SipRegisterTrunk
from ..site.ups import Ups


def secret(description: str) -> dict:
    """A field carrying a secret: compiled into secrets.yml, no_log in the argument spec."""
    return {"description": description, "json_schema_extra": {"no_log": True}}


class Vars(BaseModel):
    """Compiled variables: nothing a model does not declare."""

    model_config = ConfigDict(extra="forbid")


class Role(Vars):
    """A role's variables; ROLE is its name, the prefix of every field."""

    ROLE: ClassVar[str] = ""


# --- asterisk ---------------------------------------------------------------------------------------------------

class CountryPlan(Vars):
    code: str = Field(description="the calling code, without +")
    region: str = Field(description="ISO region")
    international_prefix: str
    international_prefixes: list[str]
    trunk_prefix: str
    trunk_prefixes: list[str]
    nsn_length: int = Field(description="digits of a national significant number")
    national_lengths: list[int]


class RegionRange(Vars):
    region: str
    leading: list[str]
    valid: list[str]


class NumberRange(Vars):
    code: str
    regions: list[RegionRange]


class RegisterTrunkVars(SipRegisterTrunk):
    networks: list[str] = Field(description="where the trunk's requests may come from (compiled)")


class IpTrunkVars(SipIpTrunk):
    networks: list[str] = Field(description="where the trunk's requests may come from (compiled)")


TrunkVars = Annotated[RegisterTrunkVars | IpTrunkVars | GsmDongleTrunk, Field(discriminator="type")]


class Leg(Vars):
    trunk: str
    type: Literal["sip_register", "sip_ip", "gsm_dongle"]
    technology: Literal["PJSIP", "Dongle", "Quectel"] = Field(description="the channel technology Dial() uses")
    format: NumberFormat
    caller_id: str | None = None
    channels: int
    fixed_caller_id: bool = Field(description="the trunk presents its own caller_id only (no caller's number)")


class MobileVars(Vars):
    number: str = Field(description="the mobile, E.164")
    after: int = Field(description="seconds the desk phone rings alone first (0: together)")
    route: str = Field(description="the outbound route that rings it (chosen at compile time)")
    dial_out: bool = Field(False, description="calling a DID, it may dial out as the extension after its PIN")


class ExtensionVars(Extension):
    mobile: MobileVars | None = None
    pickup_groups: list[str] = Field(description="the pickup groups it is in (rings for, picks up with *8)")


class ParkingLot(Vars):
    number: str = Field(description="transfer here to park")
    first: str = Field(description="the first slot")
    last: str = Field(description="the last slot")
    slots: list[str] = Field(description="every slot, each an extension taking its call back")
    timeout: int


class DialOutLock(Vars):
    tries: int = Field(description="PIN tries a call")
    failures: int = Field(description="wrong PINs within window seconds that lock a mobile's dial-out")
    window: int
    lock: int = Field(description="seconds a locked mobile's dial-out stays locked")


class FeaturesVars(Vars):
    parking: ParkingLot | None = None
    conferences: list[Conference]
    dial_out: DialOutLock


class OutboundRouteVars(OutboundRoute):
    dial_patterns: list[str] = Field(description="strict Asterisk patterns of the route's E.164 patterns")
    allowed_regions: list[str]
    legs: list[Leg] = Field(description="the route's trunks, in order, as Dial() reaches them")


class OutboundSet(Vars):
    name: str
    routes: list[str]
    extensions: list[str]


class TimeRangeVars(Vars):
    time: str = Field(description="GotoIfTime's inclusive minute range, HH:MM-HH:MM")
    days: str = Field(description="'&'-joined days")


class ScheduleVars(Vars):
    name: str
    timezone: str
    ranges: list[TimeRangeVars]
    holidays: list[str]


class InboundRouteVars(InboundRoute):
    target_call: str = Field(description="the dialplan step to the target")
    fallback_call: str | None = None
    after_hours_call: str | None = None
    open_check: list[str] | None = Field(None, description="the steps that go to 'closed' outside the schedule")


class IvrOptionVars(IvrOption):
    call: str = Field(description="the dialplan step to the option's target")
    after_hours_call: str | None = None
    open_check: list[str] | None = Field(None, description="the steps that go to 'closed' outside the schedule")


class IvrVars(Ivr):
    options: list[IvrOptionVars]
    sound: str = Field(description="the sound Asterisk plays (a shipped file under pbxctl/)")
    on_timeout_call: str
    on_invalid_call: str


class SoundFile(Vars):
    src: str = Field(description="relative to the site file")
    dest: str


class RingGroupVars(RingGroup):
    steps: list[str] = Field(description="the Dial() resources tried in turn")
    announce: bool = Field(False, description="an answered call may be recorded: the caller hears the announcement")
    overflow_call: str | None = None
    after_hours_call: str | None = None
    open_check: list[str] | None = Field(None, description="the steps that go to 'closed' outside the schedule")


class QueueVars(Queue):
    announce: bool = Field(False, description="an answered call may be recorded: the caller hears the announcement")
    overflow_call: str | None = None


class CdrVars(Cdr):
    recording_base_url: str
    targets: list[CdrTarget] = Field(description="cdr.webhook (named 'webhook') and cdr.webhooks: the sender's list")


class RecordingVars(Recording):
    path: str
    announcement_sound: str | None = Field(None, description="the announcement as Asterisk plays it")


class Tls(Vars):
    ca_cert: str
    cert: str
    key: str


class SipTlsKeys(Vars):
    ca_cert: str
    cert: str | None = Field(None, description="none: the site's certificate file is used")
    key: str | None = Field(None, description="none: the site's key file is used")


class ExtensionSecret(Vars):
    username: str
    password: str
    voicemail_pin: str
    mobile_pin: str | None = Field(None, description="the PIN its mobile keys in to dial out as it (dial_out)")


class IntegrationAuth(Vars):
    header: str | None = None
    query: str | None = None
    token: str | None = None


class LinkVars(Vars):
    site: str = Field(description="the other site's name: the endpoint is link-<site>")
    host: str
    port: int
    own_name: str = Field(description="this site's name: the user it authenticates as over there")
    transport: Literal["udp", "tls"] = Field(description="tls: over the TLS transport, SRTP, the peer checked")
    patterns: list[str] = Field(description="Asterisk extensions of the numbers dialled there (_3XX)")


class AsteriskVars(Role):
    ROLE: ClassVar[str] = "asterisk"

    asterisk__flavour: Literal["asterisk", "freepbx"]
    asterisk__install: Install = Field(description="pbx.install: install_<source>.yml installs Asterisk")
    asterisk__address: str = Field(description="where phones, trunks and the router reach the PBX")
    asterisk__sip_port: int
    asterisk__local_networks: list[str]
    asterisk__public_address: str | None = None
    asterisk__sip_tls: SipTls | None = Field(None, description="pbx.tls: the TLS transport (none: UDP only)")
    asterisk__rtp_start: int
    asterisk__rtp_end: int
    asterisk__codecs: list[str]
    asterisk__country: CountryPlan
    asterisk__number_ranges: list[NumberRange]
    asterisk__extensions: list[ExtensionVars]
    asterisk__features: FeaturesVars
    asterisk__trunks: list[TrunkVars]
    asterisk__schedules: list[ScheduleVars]
    asterisk__inbound_routes: list[InboundRouteVars]
    asterisk__ivrs: list[IvrVars]
    asterisk__sound_files: list[SoundFile]
    asterisk__ring_groups: list[RingGroupVars]
    asterisk__queues: list[QueueVars]
    asterisk__outbound_routes: list[OutboundRouteVars]
    asterisk__outbound_sets: list[OutboundSet]
    asterisk__dongles: list[GsmDongleTrunk]
    asterisk__recording: RecordingVars
    asterisk__recordings_http_port: int
    asterisk__cdr: CdrVars
    asterisk__crm: CrmLookup | None = None
    asterisk__ami: Ami | None = Field(None, description="integrations.ami: the read-only AMI account (none: AMI off)")
    asterisk__site_dir: str = Field(description="the site file's directory on the control node (IVR prompts)")
    # copies of values other roles own: each role reads only its own prefix
    asterisk__language: str
    asterisk__timezone: str
    asterisk__apt_proxy: str | None = None
    asterisk__max_outbound_calls: int
    asterisk__international_hours: str | None = None
    asterisk__alerts: Alerts
    asterisk__blocked_prefixes: list[str]
    asterisk__sip_allowed_networks: list[str]
    asterisk__links: list[LinkVars] = Field(description="other sites' PBXs: trunk and the numbers dialled there")
    asterisk__standby_address: str | None = Field(None, description="standby.virtual_address: SIP and RTP bound to "
                                                  "it, provider registrations only while this node is active")
    asterisk__link_cas: dict[str, str] = Field(
        default_factory=dict, description="each TLS link's other site's CA certificate (PEM), by that site")
    # secrets
    asterisk__extension_secrets: dict[str, ExtensionSecret] = Field(**secret("SIP logins and voicemail PINs"))
    asterisk__trunk_secrets: dict[str, str] = Field(**secret("each provider's password"))
    asterisk__trunk_endpoints: dict[str, str] = Field(**secret("trunk endpoint names with their random part"))
    asterisk__integration_auth: dict[str, IntegrationAuth] = Field(**secret("tokens of the CRM and the CDR targets "
                                                                               "(cdr_<name>)"))
    asterisk__recordings_http_password: str = Field(**secret("the recordings' HTTP login"))
    asterisk__ami_secret: str | None = Field(None, **secret("the AMI account's secret"))
    asterisk__recordings_tls: Tls = Field(**secret("the HTTPS key and certificate"))
    asterisk__sip_tls_keys: SipTlsKeys | None = Field(None, **secret("the SIP TLS transport's CA, key and certificate"))
    asterisk__link_secrets: dict[str, str] = Field(**secret("each link's shared password, by the other site"))


# --- provisioning -----------------------------------------------------------------------------------------------

class PhoneFile(Vars):
    path: str = Field(description="relative to the served directory")
    owner: str = Field(description="the MAC whose login alone may fetch it; empty for a model-level file")


class ProvisioningVars(Role):
    ROLE: ClassVar[str] = "provisioning"

    provisioning__protocols: list[Literal["tftp", "https"]]
    provisioning__server: str
    provisioning__https_port: int
    provisioning__tftp_files: list[str] = Field(description="what TFTP serves: model-level files and the CA")
    provisioning__phone_networks: list[str]
    provisioning__files: list[PhoneFile] = Field(description="every file pbxctl rendered, as it is served")
    provisioning__http_passwords: dict[str, str] = Field(**secret("each device's HTTP login, by MAC"))
    provisioning__tls: Tls = Field(**secret("the HTTPS key and certificate"))


# --- routeros ---------------------------------------------------------------------------------------------------

class Section(Vars):
    path: str = Field(description="the API path, e.g. ip firewall filter")
    order: bool = Field(description="whether the entries' order matters")
    data: list[dict] = Field(description="the entries pbxctl owns there, as RouterOS prints them")


class Setting(Vars):
    path: str
    find: dict = Field(description="which entry (not pbxctl's) is changed")
    values: dict


class _RouterosCompiled(Role):
    ROLE: ClassVar[str] = "routeros"

    routeros__enabled: bool
    routeros__api_port: int | None = None
    routeros__owned: str | None = Field(None, description="the comment prefix of every entry pbxctl owns")
    routeros__pbx_address: str | None = None
    routeros__pbx_mac: str | None = None
    routeros__rtp_start: int | None = None
    routeros__rtp_end: int | None = None
    routeros__sip_port: int | None = None
    routeros__trunk_hosts: list[str] | None = None
    routeros__trunk_networks: list[str] | None = None
    routeros__provisioning_server: str | None = None
    routeros__provisioning_protocols: list[str] | None = None
    routeros__voice_kbps: float | None = None
    routeros__sections: list[Section] | None = None
    routeros__settings: list[Setting] | None = None
    routeros__ca_path: str | None = Field(None, description="the router's CA on the control node")
    routeros__password: str | None = Field(None, **secret("the API user's password"))


# and routeros__<field> for each field of the site's router section, as the site file has it (absent: no router)
RouterosVars = create_model("RouterosVars", __base__=_RouterosCompiled, **{
    f"routeros__{name}": (info.annotation | None, Field(None, description=info.description))
    for name, info in Router.model_fields.items() if f"routeros__{name}" not in _RouterosCompiled.model_fields})


# --- nut ----------------------------------------------------------------------------------------------------------

class NutVars(Role):
    ROLE: ClassVar[str] = "nut"

    nut__enabled: bool
    nut__ups: Ups | None = None
    nut__monitor: str | None = None
    nut__upssched: bool | None = None
    nut__on_battery_seconds: int | None = None
    nut__listen: list[str] | None = None
    nut__alert_webhook: str | None = None
    nut__site_name: str | None = None
    nut__upsmon_password: str | None = Field(None, **secret("upsmon's login to upsd"))


# --- security -------------------------------------------------------------------------------------------------

class Service(Vars):
    name: str
    proto: Literal["tcp", "udp"]
    port: int
    from_: list[str] = Field(alias="from", description="networks the port is open to")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SipRate(Vars):
    burst: int
    per_second: int
    hold: int
    trust: int


class SecurityVars(Role):
    ROLE: ClassVar[str] = "security"

    security__site_name: str
    security__local_networks: list[str]
    security__sip_allowed_networks: list[str]
    security__admin_networks: list[str]
    security__ssh_port: int
    security__sip_port: int
    security__sip_tls_port: int | None = Field(None, description="pbx.tls.port; none: TLS closed")
    security__sip_tls_anywhere: bool = Field(description="a remote extension (nat): the TLS port open to anyone")
    security__rtp_start: int
    security__rtp_end: int
    security__trunk_hosts: list[str]
    security__trunk_networks: list[str]
    security__services: list[Service]
    security__pair: list[str] = Field(description="the office pair's servers (VRRP and replication between them)")
    security__fail2ban: Fail2ban
    security__sip_rate: SipRate
    security__alerts: Alerts
    security__alert_events: dict[str, str]
    security__max_outbound_calls: int
    security__international_hours: str | None = None
    security__blocked_prefixes: list[str]
    security__alerts_webhook_auth: IntegrationAuth = Field(**secret("the alert webhook's token"))


# --- backup -------------------------------------------------------------------------------------------------

class BackupVars(Role):
    ROLE: ClassVar[str] = "backup"

    backup__site: str
    backup__scheduled: ScheduledBackup | None = None
    backup__on_calendar: str | None = Field(None, description="the schedule as systemd's OnCalendar")
    backup__data_dirs: list[str] = Field(description="the folders a backup takes and a restore may write into")
    backup__reference_dirs: list[str] = Field(description="configuration kept for reference (not restored)")
    backup__secret_files: list[str] = Field(description="file names left out of the reference copy")
    backup__active_address: str | None = Field(None, description="standby.virtual_address: the scheduled backup "
                                               "runs on the node holding it only")
    backup__ssh_key: str | None = Field(None, **secret("the key the backup target knows the PBX by"))


class StandbyVars(Role):
    ROLE: ClassVar[str] = "standby"

    standby__enabled: bool = Field(description="the site has a standby: keepalived and replication on both nodes")
    standby__site_name: str | None = None
    standby__virtual_address: str | None = Field(None, description="the address the active node holds")
    standby__prefix: int | None = Field(None, description="prefix length of the LAN the virtual address is on")
    standby__router_id: int | None = Field(None, description="VRRP router id")
    standby__sync_seconds: int | None = Field(None, description="seconds between two pushes to the other node")
    standby__mirrored_dirs: list[str] = Field(default_factory=list,
                                              description="folders the other node mirrors (deletions follow)")
    standby__added_dirs: list[str] = Field(default_factory=list,
                                           description="folders copied to the other node, nothing removed there")
    standby__node: Literal["primary", "standby"] | None = Field(None, description="inventory host var: which "
                                                                "node of the pair this is")
    standby__peer: str | None = Field(None, description="inventory host var: the other node's address")
    standby__priority: int | None = Field(None, description="inventory host var: this node's VRRP priority")
    standby__ssh_key: str | None = Field(None, **secret("the replication login's private key"))
    standby__ssh_public_key: str | None = Field(None, description="its public half, for authorized_keys")


ROLES: dict[str, type[Role]] = {model.ROLE: model for model in (AsteriskVars, ProvisioningVars, RouterosVars,
                                                                   NutVars, SecurityVars, BackupVars, StandbyVars)}


def check(variables: dict) -> None:
    """Validate every role's share of the compiled variables (vars.yml and secrets.yml together)."""
    stray = sorted(k for k in variables if k.split("__", 1)[0] not in ROLES)
    if stray:
        raise ValueError(f"compiled variables of no role: {', '.join(stray)}")
    for role, model in ROLES.items():
        model.model_validate({k: v for k, v in variables.items() if k.startswith(f"{role}__")})
