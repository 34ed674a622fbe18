"""Encrypted links proven on the lab PBX: the tls site (tests/lab/sites/tls/site.yml) applied once, a TLS SIP client
on the lab host (harness/tls_sip.py) as the extensions, conference 800 as what answers.

- 200 (TLS, SRTP) registers over TLS, checking the PBX's certificate against the site CA for the PBX's address and
  presenting a client certificate the site CA signed (pbx.tls.verify_client); its call to 800 is answered with
  SRTP keys, and the audio that comes back is SRTP under them (its auth tags verify with the derived key).
- 201 (TLS only) calling over UDP with its right password is refused; 200 over UDP too (no SRTP over UDP).
- The trunk registers to the lab carrier over TLS only once the carrier's certificate is one the site CA signed.
- A wrong password over TLS lands in the security log where fail2ban's filter counts it.
- A TLS client presenting no certificate, or one the site CA never signed, gets no TLS session at all.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from harness.carrier import TrunkAccount
from harness.certificates import client_certificate
from harness.tls_sip import SipClient, answer_key, offer, srtp_authentic

from pbxctl import lab as lab_api
from pbxctl import pki
from pbxctl.compile import build_dir
from pbxctl.lab.retarget import SUFFIX as LAB_SUFFIX

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
SITE_DIR = Path(__file__).parent / "sites" / "tls"
PBXCTL = str(Path(sys.executable).parent / "pbxctl")
TLS_PORT = 5061
RTP_PORT = 40100
SRTP_TAG = 10  # AES_CM_128_HMAC_SHA1_80: 80 bits of HMAC after every packet
PCMA_20MS = 12 + 160  # an RTP header and 20 ms of G.711


@pytest.fixture(scope="module")
def site(lab, tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("tls-site")
    shutil.copytree(SITE_DIR, work, dirs_exist_ok=True)
    started = time.monotonic()
    run = subprocess.run([PBXCTL, "apply", str(work / "site.yml"), "--only", "pbx", "--lab"], cwd=ROOT,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"apply failed:\n{run.stdout[-4000:]}\n{run.stderr[-3000:]}"
    compiled = yaml.safe_load((ROOT / build_dir("tls-lab", LAB_SUFFIX) / "secrets.yml").read_text())
    kept = yaml.safe_load((work / "secrets.yml").read_text())  # the site CA's key: to sign a client certificate
    ca_cert, ca_key = kept["tls"]["ca"]["cert"], kept["tls"]["ca"]["key"]
    ca_file = work / "ca.crt"
    ca_file.write_text(ca_cert)
    return {"logins": compiled["asterisk__extension_secrets"], "ca_file": ca_file, "work": work,
            "ca": (ca_cert, ca_key), "trunk_password": compiled["asterisk__trunk_secrets"]["secure"],
            "client": client_certificate(work, "softphone", (ca_cert, ca_key)),
            "stranger": client_certificate(work, "stranger", None), "apply_seconds": time.monotonic() - started}


def _context(site: dict, certificate: tuple[Path, Path] | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(site["ca_file"]))  # the PBX must prove it is the site's
    if certificate:
        context.load_cert_chain(*map(str, certificate))
    return context


def _login(site: dict, number: str) -> tuple[str, str]:
    login = site["logins"][number]
    return login["username"], login["password"]


def pbx_cli(command: str) -> str:
    return lab_api.ssh_run("pbx", ["asterisk", "-rx", command], check=False).stdout


def test_a_tls_extension_registers_and_its_call_is_answered_with_srtp(site, pbx_address):
    phone = SipClient.tls(pbx_address, TLS_PORT, _context(site, site["client"]), "200", _login(site, "200"))
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtp.bind((lab_api.HOST_ADDRESS, RTP_PORT))
    rtp.settimeout(10)
    answer = None
    try:
        assert phone.register().code == 200
        contacts = pbx_cli("pjsip show contacts")
        assert any("200/" in line and "transport=tls" in line.lower() for line in contacts.splitlines()), contacts
        key = base64.b64encode(os.urandom(30)).decode()
        answer = phone.invite("800", offer(lab_api.HOST_ADDRESS, RTP_PORT, key))
        assert answer.code == 200, answer.code
        assert "RTP/SAVP" in answer.body and "a=crypto:" in answer.body, answer.body
        # the conference's greeting comes back as SRTP under the key the PBX sent: each 20 ms packet carries the
        # auth tag that key's derived HMAC key gives, and nothing a listener could play as G.711
        packet, _ = rtp.recvfrom(2048)
        assert len(packet) == PCMA_20MS + SRTP_TAG, len(packet)
        assert srtp_authentic(packet, answer_key(answer.body)), "the audio is not SRTP under the answer's key"
    finally:
        if answer is not None and answer.code == 200:
            assert phone.hangup() == 200
        rtp.close()
        phone.close()
    assert _wait(lambda: "PJSIP/200-" not in pbx_cli("core show channels concise"), 10), "the call stayed up"


def _wait(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_a_wrong_password_over_tls_is_a_security_event_fail2ban_reads(site, pbx_address):
    phone = SipClient.tls(pbx_address, TLS_PORT, _context(site, site["client"]), "201",
                          (_login(site, "201")[0], "not-the-password"))
    try:
        assert phone.register().code in (401, 403)
    finally:
        phone.close()
    # the jail's own filter (its failregex, as fail2ban expands it) matches the failure, with this host as <HOST>
    lines = pbx_log_tls_failures().splitlines()
    assert lines, "no TLS failure in the security log"
    pattern = _fail2ban_regex()
    hosts = {m.group("host") for m in map(pattern.search, lines) if m}
    assert lab_api.HOST_ADDRESS in hosts, lines[-3:]


def _fail2ban_regex() -> re.Pattern:
    text = (ROOT / "roles/security/templates/etc/fail2ban/filter.d/pbxctl-asterisk.conf.j2").read_text()
    events = re.search(r"^_events = (.+)$", text, re.M).group(1)
    failregex = re.search(r"^failregex = (.+)$", text, re.M).group(1)
    failregex = failregex.replace("%(_events)s", events).replace("<HOST>", r"(?P<host>[0-9.]+)")
    return re.compile(failregex.removeprefix("^"))  # fail2ban matches after the date it strips


def pbx_log_tls_failures() -> str:
    return lab_api.ssh_run("pbx", "grep -E 'ChallengeResponseFailed|InvalidPassword' /var/log/asterisk/security.log"
                           " | grep 'IPV4/TLS/'", check=False).stdout


@pytest.mark.parametrize("number, refused", [("201", 403), ("200", 488)])
def test_a_tls_only_extension_calling_over_udp_is_refused(site, pbx_address, number, refused):
    phone = SipClient.udp(pbx_address, 5060, lab_api.HOST_ADDRESS, number, _login(site, number))
    try:
        answer = phone.invite("800", offer(lab_api.HOST_ADDRESS, RTP_PORT + 2, None))
        assert answer.code == refused, answer.code
    finally:
        phone.close()
    assert f"PJSIP/{number}-" not in pbx_cli("core show channels concise"), "the refused call is still up"


@pytest.mark.parametrize("certificate", [None, "stranger"])
def test_a_tls_client_without_a_site_certificate_gets_no_session(site, pbx_address, certificate):
    context = _context(site, site[certificate] if certificate else None)
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        phone = SipClient.tls(pbx_address, TLS_PORT, context, "200", _login(site, "200"))
        try:
            phone.register()  # TLS 1.3: the server's refusal of the certificate arrives with the first read
        finally:
            phone.close()


@pytest.fixture(scope="module")
def pbx_address(lab, site) -> str:
    return lab["pbx"].address


TRUNK_USER = "74951230000"
CARRIER_TLS = """
[transport-tls]
type=transport
protocol=tls
bind=0.0.0.0:5061
cert_file=/etc/asterisk/lab-tls.crt
priv_key_file=/etc/asterisk/lab-tls.key
method=tlsv1_2
"""


def _carrier_tls(carrier, ca_cert: str, ca_key: str) -> None:
    """The carrier takes TLS on 5061 with a certificate for its address from that CA; restarted, so no TLS
    connection of an earlier certificate survives."""
    key = pki.new_key()
    cert = pki.server_cert(ca_cert, ca_key, key, [carrier.machine_address])
    for name, text, mode in (("lab-tls.crt", cert, "644"), ("lab-tls.key", key, "640")):
        lab_api.ssh_run("carrier", f"cat > /etc/asterisk/{name} && chown root:asterisk /etc/asterisk/{name} && "
                        f"chmod {mode} /etc/asterisk/{name}", input=text)
    lab_api.ssh_run("carrier", "grep -q '^\\[transport-tls\\]' /etc/asterisk/pjsip.conf || "
                    "cat >> /etc/asterisk/pjsip.conf", input=CARRIER_TLS)
    lab_api.ssh_run("carrier", "systemctl restart asterisk")
    carrier.wait_ready()
    # the registrar keeps contacts across a restart: only a registration made from now on counts
    lab_api.ssh_run("carrier", ["asterisk", "-rx", "database deltree registrar/contact"], check=False)
    pbx_cli("pjsip send register *all")


def _tls_contacts(carrier) -> list[str]:
    return [uri for uri in carrier.contacts(TRUNK_USER) if "transport=tls" in uri.lower()]


def test_a_tls_trunk_registers_only_to_a_provider_whose_certificate_checks_out(site, carrier):
    """The carrier as a TLS provider. With a certificate from a CA the site does not trust the PBX refuses the
    connection (verify_server; with verify_client only the site CA is trusted); with one the site CA signed for
    the carrier's address the trunk registers over TLS."""
    carrier.configure([TrunkAccount("secure", TRUNK_USER, site["trunk_password"])])
    other_key = pki.new_key()
    refused = _untrusted()
    _carrier_tls(carrier, pki.new_ca("impostor", other_key), other_key)
    assert _retrying(lambda: _untrusted() > refused, 40), "the PBX never tried the impostor"
    assert not _tls_contacts(carrier), "registered to a provider with an untrusted certificate"
    _carrier_tls(carrier, *site["ca"])
    assert _retrying(lambda: _tls_contacts(carrier), 60), pbx_cli("pjsip show registrations")


def _untrusted() -> int:
    """TLS connections the PBX refused for the peer's certificate (Asterisk's log says so per attempt)."""
    found = lab_api.ssh_run("pbx", "grep -c 'certificate is untrusted' /var/log/asterisk/messages.log", check=False)
    return int(found.stdout.strip() or 0)


def _retrying(condition, timeout: float) -> bool:
    """The trunk asked to register again every few seconds until condition holds: the carrier's TLS listener comes
    up a moment after its CLI answers, and the trunk's own retry is 30 s away."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _wait(condition, 4):
            return True
        pbx_cli("pjsip send register *all")
    return False
