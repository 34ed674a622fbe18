"""Encrypted links as compiled and rendered: the TLS transport and its certificate, SRTP and NAT per endpoint,
TLS trunks, the firewall's TLS port and phones provisioned for TLS (the lab proves them with calls: test_tls.py)."""

import shutil
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from pbxctl.compile import compile_site

from .test_guard import render
from .test_install_options import render_pjsip, sections

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "tests/data/encrypted_links.yml"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("links")
    shutil.copy(SITE, work / "site.yml")
    (work / "secrets.yml").write_text(yaml.safe_dump({"trunks": {"secure": {"password": "p1"},
                                                                 "plain": {"password": "p2"}}}))
    compiled = compile_site(work / "site.yml", work / "build")
    variables = {**yaml.safe_load((work / "build" / "vars.yml").read_text()),
                 **yaml.safe_load((work / "build" / "secrets.yml").read_text())}
    return {"vars": variables, "dir": compiled.out_dir}


@pytest.fixture(scope="module")
def pjsip(built) -> dict:
    """Each section by name, the endpoint where an endpoint and its aor share one."""
    found: dict = {}
    for name, options in sections(render_pjsip(built["vars"])):
        if name not in found or options.get("type") == "endpoint":
            found[name] = options
    return found


def test_the_tls_transport_carries_the_site_cas_certificate_for_the_pbxs_addresses(built, pjsip):
    tls = pjsip["transport-tls"]
    assert (tls["protocol"], tls["bind"], tls["verify_server"], tls["verify_client"]) == (
        "tls", "0.0.0.0:5061", "yes", "no")
    assert (tls["external_signaling_address"], tls["local_net"]) == ("198.51.100.20", "192.0.2.0/24")
    pem = render("asterisk/templates/etc/asterisk/pbxctl-sip-tls.crt.j2", built["vars"])
    cert = x509.load_pem_x509_certificate(pem.strip().encode())
    names = {str(n) for n in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
             .get_values_for_type(x509.IPAddress)}
    assert names == {"192.0.2.10", "198.51.100.20"}  # a remote phone checks the public one
    ca = render("asterisk/templates/etc/asterisk/pbxctl-sip-ca.crt.j2", built["vars"]).strip()
    assert cert.issuer == x509.load_pem_x509_certificate(ca.encode()).subject
    key = render("asterisk/templates/etc/asterisk/pbxctl-sip-tls.key.j2", built["vars"])
    assert "PRIVATE KEY" in key


def test_extensions_get_their_transport_srtp_and_nat_settings(pjsip):
    remote, desk_tls, desk = pjsip["100"], pjsip["101"], pjsip["102"]
    assert (remote["transport"], remote["media_encryption"], remote["context"]) == (
        "transport-tls", "sdes", "from-internal-tls")
    assert all(remote[o] == "yes" for o in ("rewrite_contact", "rtp_symmetric", "force_rport"))
    assert "deny" not in remote and "deny" in desk  # remote: from anywhere (over TLS); the desk: the office only
    assert (desk_tls["transport"], desk_tls.get("media_encryption")) == ("transport-tls", None)
    assert "transport" not in desk and desk["context"] == "from-internal"


def test_a_tls_trunk_registers_and_calls_over_tls(pjsip, built):
    endpoint = next(name for name in pjsip if name.startswith("trunk-secure-") and pjsip[name]["type"] == "endpoint")
    assert (pjsip[endpoint]["transport"], pjsip[endpoint]["media_encryption"]) == ("transport-tls", "sdes")
    assert pjsip["trunk-secure"]["transport"] == "transport-tls"
    # ';' starts a comment in Asterisk's files: the URI parameter must be escaped to reach PJSIP
    text = render_pjsip(built["vars"])
    assert "server_uri=sip:sip.provider.example:5061\\;transport=tls\n" in text
    assert pjsip["trunk-plain"]["transport"] == "transport-udp"


def test_the_firewall_opens_the_tls_port_to_anyone_only_for_remote_extensions(built):
    defaults = yaml.safe_load((ROOT / "roles/security/defaults/main.yml").read_text())
    built = {"vars": defaults | built["vars"]}
    nft = render("security/templates/etc/pbxctl/security.nft.j2", built["vars"], security__trunk_addresses=[],
                 security__control_source=None)
    assert "        tcp dport 5061 accept" in nft
    office_only = render("security/templates/etc/pbxctl/security.nft.j2",
                         built["vars"] | {"security__sip_tls_anywhere": False}, security__trunk_addresses=[],
                         security__control_source=None)
    assert "tcp dport 5061 ip saddr @sip_sources accept" in office_only and "tcp dport 5061 accept" not in office_only
    closed = render("security/templates/etc/pbxctl/security.nft.j2", built["vars"] | {"security__sip_tls_port": None},
                    security__trunk_addresses=[], security__control_source=None)
    assert "5061" not in closed


def test_tls_calls_in_clear_are_refused_before_routing():
    text = (ROOT / "roles/asterisk/templates/etc/asterisk/extensions_tls.conf.j2").read_text()
    assert '"${CHANNEL(pjsip,secure)}" = "1"' in text and "Hangup(21)" in text
    assert "Goto(from-internal,${FILTER(+0123456789*#,${EXTEN})},1)" in text  # never ${EXTEN} itself


def test_phones_on_tls_lines_are_provisioned_for_tls(built):
    phones = built["dir"] / "phones"
    yealink = (phones / "001122334455.cfg").read_text()
    assert "account.1.sip_server.1.port = 5061" in yealink
    assert "account.1.sip_server.1.transport_type = 2" in yealink
    cisco = next(p for p in phones.rglob("*001122334466*")).read_text()
    assert "<SIP_Transport_1_>UDP</SIP_Transport_1_>" in cisco and ":5060</Proxy_1_>" in cisco


def test_a_site_certificate_is_used_as_given_with_its_key_from_secrets(tmp_path):
    shutil.copytree(ROOT / "tests/lab/sites/tls", tmp_path / "site")
    site = tmp_path / "site" / "site.yml"
    data = yaml.safe_load(site.read_text())
    data["pbx"]["tls"] = {"certificate": "pbx.crt"}
    site.write_text(yaml.safe_dump(data))
    (tmp_path / "site" / "pbx.crt").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    (tmp_path / "site" / "secrets.yml").write_text(yaml.safe_dump({"tls": {"sip": {"key": "THE KEY"}},
                                                                 "trunks": {"secure": {"password": "p"}}}))
    out = compile_site(site, tmp_path / "build").out_dir
    variables = {**yaml.safe_load((out / "vars.yml").read_text()), **yaml.safe_load((out / "secrets.yml").read_text()),
                 "lookup": lambda kind, path: Path(path).read_text()}  # Ansible's file lookup, on the controller
    assert render("asterisk/templates/etc/asterisk/pbxctl-sip-tls.key.j2", variables).strip() == "THE KEY"
    assert "MIIB" in render("asterisk/templates/etc/asterisk/pbxctl-sip-tls.crt.j2", variables)
