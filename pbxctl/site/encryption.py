"""Encrypted links: SIP over TLS on the PBX, SRTP (SDES) per endpoint, extensions that sit behind NAT elsewhere.

The checks across sections live here too: SDES keys travel in the SDP, so an endpoint with SRTP must signal over
TLS; a phone is provisioned for TLS only where its vendor reference cites the parameter that says so.
"""

from collections.abc import Iterator
from typing import Literal

from pydantic import Field, model_validator

from ..problems import Problem
from .base import KeyProblem, Model
from .catalogue import MODELS
from .paths import RepoPath

SipTransport = Literal["udp", "tls"]
MediaEncryption = Literal["none", "sdes"]
TLS_PORT = 5061

# vendors whose reference data (phone_templates/<vendor>/reference.yml) cites the line's transport parameter with
# a TLS value checked against a source (cisco SIP_Transport_n_, panasonic SIP_TRANSPORT_n, yealink
# account.n.sip_server.1.transport_type); grandstream's reference has no transport parameter, eltex's is unverified
TLS_VENDORS = ("cisco", "panasonic", "yealink")


class SipTls(Model):
    """SIP over TLS on the PBX: a TLS transport beside UDP, for the extensions and trunks that ask for it."""

    port: int = Field(TLS_PORT, ge=1, le=65535, description="TCP port Asterisk takes SIP over TLS on")
    certificate: RepoPath | None = Field(
        None, description="the PBX's certificate (PEM, chain after it), a file beside the site file; none: the "
                          "site CA pbxctl keeps in secrets.yml issues one for the PBX's addresses")
    key: RepoPath | None = Field(
        None, description="the certificate's private key (PEM file beside the site file); none with a certificate: "
                          "secrets.yml tls.sip.key")
    verify_client: bool = Field(
        False, description="refuse a TLS client that presents no certificate signed by the site CA (softphones "
                           "given one); phones pbxctl provisions get none, and TLS providers must then present "
                           "one the site CA signed too (only it is trusted)")

    @model_validator(mode="after")
    def _key_with_certificate(self) -> "SipTls":
        if self.key and not self.certificate:
            raise KeyProblem("key", "a key file goes with a certificate file; without one the site CA's is used")
        return self


def sip_tls_port(site) -> int | None:
    return site.pbx.tls.port if site.pbx.tls else None


def _tls_endpoints(site) -> Iterator[tuple[tuple, object]]:
    for index, ext in enumerate(site.extensions):
        yield ("extensions", index), ext
    for index, trunk in enumerate(site.trunks):
        if hasattr(trunk, "transport"):
            yield ("trunks", index), trunk


def encryption_problems(site) -> Iterator[Problem]:
    for path, item in _tls_endpoints(site):
        if item.transport == "tls" and site.pbx.tls is None:
            yield Problem((*path, "transport"), "transport tls needs pbx.tls (the PBX's TLS transport and its "
                          "certificate): add `tls: {}` under pbx for the site CA's certificate")
        if item.media_encryption == "sdes" and item.transport != "tls":
            yield Problem((*path, "media_encryption"), "sdes sends the SRTP keys in the SDP, which plain UDP "
                          "carries readable to anyone on the path: set transport: tls")
    for index, ext in enumerate(site.extensions):
        if ext.nat and site.pbx.public_address is None:
            yield Problem(("extensions", index, "nat"), "an extension behind NAT elsewhere reaches the PBX at its "
                          "public address: set pbx.public_address (Asterisk puts it in SIP and SDP for it)")
        if ext.nat and ext.transport != "tls":
            yield Problem(("extensions", index, "nat"), "a remote extension is reached from anywhere: its SIP "
                          "would cross the internet in clear and the firewall would open UDP SIP to everyone; set "
                          "transport: tls (the firewall then opens only the TLS port)")
    if site.pbx.tls and site.pbx.tls.port in (site.pbx.sip_port, site.pbx.ssh_port):
        yield Problem(("pbx", "tls", "port"), f"port {site.pbx.tls.port} is already the PBX's "
                      f"{'sip_port' if site.pbx.tls.port == site.pbx.sip_port else 'ssh_port'}")
    yield from _phones(site)


def _phones(site) -> Iterator[Problem]:
    extensions = {e.number: e for e in site.extensions}
    for index, phone in enumerate(site.phones):
        model = MODELS.get(phone.model)
        if model is None:
            continue  # reported by the phone checks
        for line_index, line in enumerate(phone.lines):
            ext = extensions.get(line.extension)
            if ext is None or ext.transport != "tls":
                continue
            where = ("phones", index, "lines", line_index, "extension")
            if model.vendor not in TLS_VENDORS:
                yield Problem(where, f"extension {ext.number} uses TLS, and pbxctl can't provision {phone.model} for "
                              f"it: no checked {model.vendor} reference cites the line's TLS transport")
            elif ext.media_encryption == "sdes":
                yield Problem(where, f"extension {ext.number} uses SRTP (sdes), and pbxctl can't provision "
                              f"{phone.model} for it: no {model.vendor} reference it has cites the SRTP parameter, "
                              "so the phone would offer plain RTP and every call would be refused")
            elif site.pbx.tls and site.pbx.tls.verify_client:
                yield Problem(where, f"pbx.tls.verify_client refuses clients without a certificate, and pbxctl gives "
                              f"{phone.model} none: extension {ext.number} could never register")
