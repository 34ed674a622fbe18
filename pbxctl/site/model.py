"""The whole site file: one section per concern."""

from pydantic import Field

from .base import Model
from .extensions import Extension
from .general import SiteInfo
from .pbx import Pbx
from .phones import Phone, Provisioning
from .router import Router
from .routing import Cdr, CrmLookup, InboundRoute, Ivr, OutboundRoute, Queue, Recording, RingGroup, Schedule
from .security import Security
from .trunks import Trunk
from .ups import Ups


class Site(Model):
    """An office: its PBX, numbers, call routing, phones, router and UPS."""

    site: SiteInfo
    pbx: Pbx
    extensions: list[Extension] = Field(default_factory=list)
    trunks: list[Trunk] = Field(default_factory=list)
    schedules: list[Schedule] = Field(default_factory=list)
    inbound_routes: list[InboundRoute] = Field(default_factory=list)
    ivrs: list[Ivr] = Field(default_factory=list)
    ring_groups: list[RingGroup] = Field(default_factory=list)
    queues: list[Queue] = Field(default_factory=list)
    outbound_routes: list[OutboundRoute] = Field(default_factory=list)
    recording: Recording = Field(default_factory=Recording)
    cdr: Cdr = Field(default_factory=Cdr)
    crm: CrmLookup | None = None
    phones: list[Phone] = Field(default_factory=list)
    provisioning: Provisioning = Field(default_factory=Provisioning)
    router: Router | None = None
    ups: Ups | None = None
    security: Security = Field(default_factory=Security)
