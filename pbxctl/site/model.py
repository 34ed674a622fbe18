"""The whole site file: one section per concern."""

from pydantic import Field

from .base import Model
from .continuity import ScheduledBackup
from .extensions import Extension
from .features import Features
from .general import SiteInfo
from .integrations import Integrations
from .links import Link
from .pbx import Pbx
from .phones import Phone, Provisioning
from .router import Router
from .routing import Cdr, CrmLookup, InboundRoute, Ivr, OutboundRoute, Queue, Recording, RingGroup, Schedule
from .security import Security
from .standby import Standby
from .trunks import Trunk
from .ups import Ups


class Site(Model):
    """An office: its PBX, numbers, call routing, phones, router and UPS."""

    extends: str | None = Field(None, description="a defaults file (path relative to this one) this site is "
                                "deep-merged over: mappings merge, the site's lists and values replace")
    site: SiteInfo = Field(description="the site itself: name, time zone, language, country")
    pbx: Pbx = Field(description="the PBX server: how Ansible reaches it and what phones and providers see")
    extensions: list[Extension] = Field(default_factory=list,
                                        description="the office's internal numbers, one per person or desk")
    trunks: list[Trunk] = Field(default_factory=list,
                                description="the providers: registered SIP accounts, IP-authenticated SIP, GSM modems")
    schedules: list[Schedule] = Field(
        default_factory=list, description="office hours and holidays, used by inbound routes and international_hours")
    inbound_routes: list[InboundRoute] = Field(default_factory=list, description="where calls to each DID go")
    ivrs: list[Ivr] = Field(default_factory=list, description="voice menus: a prompt and a target per key")
    ring_groups: list[RingGroup] = Field(default_factory=list, description="extensions that ring together or in turn")
    queues: list[Queue] = Field(default_factory=list,
                                description="call queues with agents, wrap-up time and waiting limits")
    outbound_routes: list[OutboundRoute] = Field(default_factory=list,
                                                 description="which trunks outgoing calls use, by number pattern")
    recording: Recording = Field(default_factory=Recording, description="how call recordings are stored and kept")
    cdr: Cdr = Field(default_factory=Cdr, description="call detail records: CSV on the PBX and a JSON webhook per call")
    crm: CrmLookup | None = Field(None, description="the CRM asked who handles a returning caller")
    integrations: Integrations = Field(default_factory=Integrations,
                                       description="live events for outside systems: a read-only AMI account")
    phones: list[Phone] = Field(default_factory=list,
                                description="desk phones and analogue gateways, provisioned by MAC address")
    provisioning: Provisioning = Field(default_factory=Provisioning,
                                       description="how phones fetch their configuration (TFTP, HTTPS)")
    router: Router | None = Field(None,
                                  description="the MikroTik router: voice QoS, DHCP options for phones, Wake-on-LAN")
    ups: Ups | None = Field(
        None, description="the UPS the PBX runs on (NUT): clean shutdown on battery and return with power")
    backup: ScheduledBackup | None = Field(
        None, description="scheduled backups of voicemail, recordings and call records to another machine")
    standby: Standby | None = Field(
        None, description="a second server that takes over by itself when this one fails (office pair sharing a "
                          "virtual address)")
    links: list[Link] = Field(default_factory=list, description="other sites' PBXs this one calls over a SIP "
                              "trunk: their internal numbers ring there; calls from them reach extensions only")
    features: Features = Field(default_factory=Features,
                               description="call features: pickup groups, call parking, conference rooms")
    security: Security = Field(default_factory=Security,
                               description="who may reach the PBX, fail2ban, alerts and toll-fraud limits")
