"""A link between two PBXs over TLS, proven on the lab's pbx and branch-b (tests/lab/sites/tls_link: hq and office,
applied in one fleet run, which copies each site's CA into the other's secrets.yml).

- hq's 201 calls the office's 301 over the link: answered, and on the wire between the two PBXs (a capture on
  branch-b's port of the lab switch) there is SIP over TLS only, no SIP over UDP, and every audio packet is SRTP (the
  RTP header then 20 ms of G.711 and an 80-bit auth tag), none plain RTP.
- The office's PBX verifies TLS clients: hq's PBX gets in with its own certificate (the call above); a TLS client
  with a certificate from another CA, or none, gets no TLS session there.
- hq's PBX checks the office's certificate against the office's CA the fleet run copied: with that CA taken out of
  its list, the link goes down from hq's side.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from harness.capture import Capture
from harness.certificates import client_certificate, stranger_ca

from pbxctl import lab as lab_api
from pbxctl.fleet.build import fleet_dir
from pbxctl.lab.carrier import wait_until
from pbxctl.lab.layout import nspawn_name
from pbxctl.lab.retarget import SUFFIX as LAB_SUFFIX
from pbxctl.load import load_site

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
SITES = Path(__file__).parent / "sites" / "tls_link"
PBXCTL = str(Path(sys.executable).parent / "pbxctl")
MACHINES = {"tls-hq": "pbx", "tls-office": "branch-b"}
TLS_PORT = 5061
RTP_PORTS = range(10000, 10100)  # both sites' pbx.rtp_ports
PCMA_20MS = 12 + 160
SRTP_TAG = 10  # AES_CM_128_HMAC_SHA1_80


def on(machine: str, script: str, check: bool = False) -> str:
    return lab_api.ssh_run(machine, script, timeout=60, check=check).stdout


def contact_state(machine: str, endpoint: str) -> str:
    return on(machine, f"asterisk -rx 'pjsip show contacts' | grep ' {endpoint}/' || true")


@pytest.fixture(scope="module")
def linked(lab, tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("tls-link")
    shutil.copytree(SITES, work, dirs_exist_ok=True)
    files = [work / "hq" / "site.yml", work / "office" / "site.yml"]  # in the lab's order: pbx, then branch-b
    started = time.monotonic()
    run = subprocess.run([PBXCTL, "apply", *map(str, files), "--lab", "--only", "pbx"], cwd=ROOT,
                         capture_output=True, text=True, timeout=1500)
    apply_seconds = time.monotonic() - started
    assert run.returncode == 0, f"apply failed:\n{run.stdout[-5000:]}\n{run.stderr[-3000:]}"
    build = ROOT / fleet_dir([load_site(f) for f in files], LAB_SUFFIX)
    built = {name: yaml.safe_load((build / "sites" / name / "secrets.yml").read_text()) for name in MACHINES}
    kept = {name: yaml.safe_load((f.parent / "secrets.yml").read_text()) for name, f in zip(MACHINES, files,
                                                                                             strict=True)}
    # the link is up at both ends: qualify's OPTIONS went over TLS, each PBX checking the other's certificate
    for machine, endpoint in (("pbx", "link-tls-office"), ("branch-b", "link-tls-hq")):
        assert wait_until(lambda m=machine, e=endpoint: "Avail" in contact_state(m, e), 40), \
            (machine, contact_state(machine, endpoint), on(machine, "tail -n 30 /var/log/asterisk/messages.log"))
    return {"work": work, "built": built, "kept": kept, "apply_seconds": apply_seconds,
            "address": {name: lab_api.hosts([m])[m].address for name, m in MACHINES.items()}}


class Wire(Capture):
    """What passes between the two PBXs, captured on branch-b's port of the lab switch (its veth on the host)."""

    def __init__(self, a: str, b: str) -> None:
        super().__init__("vb-" + nspawn_name("branch-b"))
        self.pair = {socket.inet_aton(a), socket.inet_aton(b)}
        self.sip_udp = self.tls = 0
        self.rtp_lengths: list[int] = []

    def seen(self, ip: bytes, protocol: int, sport: int, dport: int, payload: bytes) -> None:
        if {ip[12:16], ip[16:20]} != self.pair:
            return
        if protocol == socket.IPPROTO_TCP and TLS_PORT in (sport, dport):
            self.tls += 1
        elif protocol == socket.IPPROTO_UDP:
            if 5060 in (sport, dport):
                self.sip_udp += 1
            elif sport in RTP_PORTS and dport in RTP_PORTS and len(payload) >= 12 \
                    and payload[0] >> 6 == 2 and payload[1] & 0x7F == 8:  # RTP version 2, PCMA (not RTCP)
                self.rtp_lengths.append(len(payload))


def _phone(linked: dict, phone_factory, site: str, number: str):
    login = linked["built"][site]["asterisk__extension_secrets"][number]
    made = phone_factory(number, login["password"], server=linked["address"][site], auth_user=login["username"])
    assert made.register(), f"{site} {number} did not register"
    return made


def test_a_call_over_the_tls_link_is_tls_signalled_and_srtp_on_the_wire(linked, phone_factory):
    hq, office = _phone(linked, phone_factory, "tls-hq", "201"), _phone(linked, phone_factory, "tls-office", "301")
    with Wire(linked["address"]["tls-hq"], linked["address"]["tls-office"]) as wire:
        outcome = hq.call("301", timeout=20)
        incoming = office.wait_incoming(timeout=5) if outcome.answered else None
        time.sleep(3)  # audio both ways for a while
        channels = on("pbx", "asterisk -rx 'core show channels concise'")
        hq.hangup()
        if outcome.answered:
            hq.wait_closed(5)
    assert outcome.answered, (outcome, hq.log()[-1500:], on("pbx", "tail -n 30 /var/log/asterisk/messages.log"))
    assert incoming and incoming.answered and "201" in incoming.peer_uri, incoming
    assert "PJSIP/link-tls-office-" in channels, channels  # it went over the link, not some other way
    assert wire.tls > 0 and wire.sip_udp == 0, (wire.tls, wire.sip_udp)
    assert len(wire.rtp_lengths) >= 100, len(wire.rtp_lengths)  # 3 s of 20 ms packets, both ways
    assert set(wire.rtp_lengths) == {PCMA_20MS + SRTP_TAG}, sorted(set(wire.rtp_lengths))
    print(f"\nbetween the PBXs: {wire.tls} TLS segments, {wire.sip_udp} UDP SIP packets, "
          f"{len(wire.rtp_lengths)} audio packets, all {PCMA_20MS + SRTP_TAG} bytes (SRTP)")


def _handshake(address: str, ca_pem: str, certificate: tuple[Path, Path] | None) -> str | None:
    """None once a TLS session is up (and a byte could be read or the server waited); else why it failed."""
    context = ssl.create_default_context(cadata=ca_pem)
    if certificate:
        context.load_cert_chain(*certificate)
    try:
        with socket.create_connection((address, TLS_PORT), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname=address) as tls:
            tls.settimeout(2)
            try:
                tls.recv(1)  # TLS 1.3: a refused client certificate shows up here, after the handshake
            except TimeoutError:
                return None
            return "closed by the server"
    except (ssl.SSLError, OSError) as error:
        return str(error)


def test_the_office_pbx_refuses_a_tls_client_with_a_certificate_from_another_ca(linked, tmp_path):
    office, office_ca = linked["address"]["tls-office"], linked["kept"]["tls-office"]["tls"]["ca"]["cert"]
    other = stranger_ca()
    refused = _handshake(office, office_ca, client_certificate(tmp_path, "stranger", other))
    assert refused, "a client certificate from another CA got a TLS session"
    assert _handshake(office, office_ca, None), "a client without a certificate got a TLS session"
    # the control: the office's own CA's client certificate does get in, so the refusals above are about the CA
    own = (office_ca, linked["kept"]["tls-office"]["tls"]["ca"]["key"])
    assert _handshake(office, office_ca, client_certificate(tmp_path, "softphone", own)) is None


def test_hq_checks_the_office_pbx_against_the_office_ca_the_fleet_copied(linked):
    copied = linked["kept"]["tls-hq"]["links"]["tls-office"]["ca_cert"]
    assert copied == linked["kept"]["tls-office"]["tls"]["ca"]["cert"]
    listed = on("pbx", "cat /etc/asterisk/pbxctl-sip-ca.crt")
    assert copied.strip() in listed  # hq's TLS transport trusts it
    # without it hq's PBX no longer takes the office's certificate: the link goes down from hq's side (qualify
    # over TLS fails), so the Avail above was the certificate checked, not any certificate taken
    own = linked["kept"]["tls-hq"]["tls"]["ca"]["cert"]
    # the list rewritten in place (its owner and mode kept: Asterisk reads it as root:asterisk 0640)
    lab_api.ssh_run("pbx", "cp -p /etc/asterisk/pbxctl-sip-ca.crt /root/pbxctl-sip-ca.crt.kept && "
                           "cat > /etc/asterisk/pbxctl-sip-ca.crt && : > /var/log/asterisk/messages.log && "
                           "asterisk -rx 'logger reload' >/dev/null && systemctl restart asterisk", input=own)
    try:
        assert wait_until(lambda: "Unavail" in contact_state("pbx", "link-tls-office"), 60), \
            contact_state("pbx", "link-tls-office")
        logged = on("pbx", "grep 'transport-tls' /var/log/asterisk/messages.log | tail -5")
    finally:
        on("pbx", "cp -p /root/pbxctl-sip-ca.crt.kept /etc/asterisk/pbxctl-sip-ca.crt && systemctl restart asterisk",
           check=True)
    assert f"{linked['address']['tls-office']}:{TLS_PORT} - The certificate is untrusted" in logged, logged
    assert wait_until(lambda: "Avail" in contact_state("pbx", "link-tls-office").replace("Unavail", ""), 60), \
        on("pbx", "tail -n 20 /var/log/asterisk/messages.log")


def test_figures(linked):
    print(f"\nfleet apply, 2 sites linked over TLS (bare PBXs on a fresh lab; a re-apply otherwise): "
          f"{linked['apply_seconds']:.1f} s")
