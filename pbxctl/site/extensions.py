"""Extensions: the office's internal numbers."""

from typing import Literal

from pydantic import Field

from .base import DisplayName, ExtensionNumber, Model
from .encryption import MediaEncryption, SipTransport

RecordingPolicy = Literal["always", "never", "on_demand"]

# t-extension rings for 30 s (the CRM's manager 20): a mobile that starts later than this would never ring
MOBILE_LATEST_START = 15


class Mobile(Model):
    """The extension's mobile, rung with the desk phone through an outbound route (and its toll-fraud guard)."""

    number: str = Field(description="the mobile's number (any usual form); an outbound route open to the "
                        "extension must reach it, and the toll-fraud guard must allow it")
    after: int = Field(0, ge=0, le=MOBILE_LATEST_START,
                       description="seconds the desk phone rings alone before the mobile joins; 0 = together")
    dial_out: bool = Field(False, description="the mobile calling one of the site's DIDs may dial out as the "
                           "extension: recognised by its number, asked for its PIN (secrets.yml extensions.<ext>."
                           "mobile_pin), then the number; the call goes out on the extension's routes, guard, "
                           "caller ID and recording policy")


class Extension(Model):
    number: ExtensionNumber
    name: DisplayName
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                              description="where voicemail and missed-call mails go")
    voicemail: bool = Field(True, description="a voicemail box for this extension")
    recording: RecordingPolicy = Field(
        "never", description="record this extension's calls: always, never or on_demand (*1 during a call)")
    mobile: Mobile | None = Field(
        None, description="a mobile rung with the desk phone (follow-me): the call is recorded by this "
        "extension's policy and its record names the extension, answered on the mobile")
    max_contacts: int = Field(2, ge=1, le=10, description="devices that may register at once")
    transport: SipTransport = Field("udp", description="udp, or tls: the PBX's TLS transport (pbx.tls) only; calls "
                                    "this extension makes over anything else are refused")
    media_encryption: MediaEncryption = Field("none", description="sdes: SRTP with keys in the SDP (needs "
                                              "transport: tls); calls without SRTP are refused")
    nat: bool = Field(False, description="a remote extension behind NAT elsewhere: it may register from anywhere "
                      "(over TLS), Asterisk answers where its packets come from and puts pbx.public_address in SIP "
                      "and SDP, and keeps its NAT binding open")
