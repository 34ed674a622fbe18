"""Links over TLS as compiled and rendered: the link endpoint on the TLS transport with SRTP, the other site's CA in
the transport's CA list (copied by a fleet run, or named beside a site alone), and the refusals (the lab proves a
call over it: tests/lab/test_link_tls.py)."""

import shutil
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from pbxctl import pki
from pbxctl.compile import compile_site
from pbxctl.fleet.build import compile_fleet
from pbxctl.fleet.sites import site_files
from pbxctl.load import load_site
from pbxctl.problems import SiteInvalid
from pbxctl.secrets import read_secrets

from .conftest import ROOT
from .test_guard import render
from .test_install_options import sections


def _tls(path: Path, link: str, pbx_tls: bool = True) -> None:
    """The site's link to `link` over TLS, and pbx.tls on its PBX."""
    text = path.read_text().replace(f"{{site: {link},", f"{{site: {link}, transport: tls,")
    if pbx_tls:
        text = text.replace("  local_networks:", "  tls: {}\n  local_networks:", 1)
    path.write_text(text)


@pytest.fixture
def repo(tmp_path) -> Path:
    """Moscow and St Petersburg of the example fleet linked over TLS (Surgut's link stays UDP)."""
    target = tmp_path / "fleet"
    shutil.copytree(ROOT / "inventories" / "example-fleet", target)
    for branch, trunk in (("moscow", "msk-city"), ("spb", "spb-city"), ("surgut", "surgut-city")):
        extra = "  freephone:\n    password: pw-freephone-0123\n" if branch == "moscow" else ""
        (target / branch / "secrets.yml").write_text(f"trunks:\n  {trunk}:\n    password: pw-{branch}-0123\n{extra}")
    _tls(target / "moscow" / "site.yml", "fleet-spb")
    _tls(target / "spb" / "site.yml", "fleet-moscow")
    return target


def _built(out: Path, site: str) -> dict:
    return {**yaml.safe_load((out / "sites" / site / "vars.yml").read_text()),
            **yaml.safe_load((out / "sites" / site / "secrets.yml").read_text())}


def _endpoints(variables: dict) -> dict:
    found: dict = {}
    for name, options in sections(render("asterisk/templates/etc/asterisk/pjsip_links.conf.j2", variables)):
        if name not in found or options.get("type") == "endpoint":
            found[name] = options
    return found


def test_a_tls_link_signals_over_tls_with_srtp_and_a_udp_link_stays_as_it_was(repo, tmp_path):
    compile_fleet(site_files([repo]), out_dir=tmp_path / "build")
    moscow = _built(tmp_path / "build", "fleet-moscow")
    links = {link["site"]: link for link in moscow["asterisk__links"]}
    assert (links["fleet-spb"]["transport"], links["fleet-spb"]["port"]) == ("tls", 5061)  # spb's pbx.tls.port
    assert (links["fleet-surgut"]["transport"], links["fleet-surgut"]["port"]) == ("udp", 5060)
    endpoints = _endpoints(moscow)
    spb, surgut = endpoints["link-fleet-spb"], endpoints["link-fleet-surgut"]
    assert (spb["transport"], spb["media_encryption"]) == ("transport-tls", "sdes")
    assert "transport" not in surgut and "media_encryption" not in surgut
    assert (spb["context"], surgut["context"]) == ("from-link-tls-fleet-spb", "from-link-fleet-surgut")
    text = render("asterisk/templates/etc/asterisk/pjsip_links.conf.j2", moscow)
    assert "contact=sip:10.20.0.5:5061\\;transport=tls\n" in text  # escaped: a bare ';' starts a comment
    assert "contact=sip:10.40.0.5:5060\n" in text


def test_a_call_over_a_tls_link_signalled_in_clear_is_refused_before_the_links_own_context(repo, tmp_path):
    compile_fleet(site_files([repo]), out_dir=tmp_path / "build")
    dialplan = render("asterisk/templates/etc/asterisk/extensions_links.conf.j2", _built(tmp_path / "build",
                                                                                          "fleet-moscow"))
    guard = dialplan.split("[from-link-tls-fleet-spb]\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert guard[0] == 'exten => _[+0-9*#].,1,GotoIf($["${CHANNEL(pjsip,secure)}" = "1"]?secure)'
    assert guard[2] == " same => n,Hangup(21)"
    assert guard[3] == " same => n(secure),Goto(from-link-fleet-spb,${FILTER(+0123456789*#,${EXTEN})},1)"
    assert "[from-link-fleet-spb]" in dialplan and "[from-link-tls-fleet-surgut]" not in dialplan


def test_a_fleet_run_copies_each_sites_ca_to_the_other_and_each_pbx_trusts_the_others(repo, tmp_path):
    compile_fleet(site_files([repo]), out_dir=tmp_path / "build")
    kept = {b: read_secrets(repo / b / "secrets.yml", None) for b in ("moscow", "spb", "surgut")}
    spb_ca, moscow_ca = kept["spb"].get("tls", "ca", "cert"), kept["moscow"].get("tls", "ca", "cert")
    assert spb_ca and moscow_ca and spb_ca != moscow_ca
    assert kept["moscow"].get("links", "fleet-spb", "ca_cert") == spb_ca
    assert kept["spb"].get("links", "fleet-moscow", "ca_cert") == moscow_ca
    assert kept["moscow"].get("links", "fleet-surgut", "ca_cert") is None  # a UDP link trusts nothing
    for site, own, other in (("fleet-moscow", moscow_ca, spb_ca), ("fleet-spb", spb_ca, moscow_ca)):
        listed = render("asterisk/templates/etc/asterisk/pbxctl-sip-ca.crt.j2", _built(tmp_path / "build", site))
        subjects = [c.subject for c in x509.load_pem_x509_certificates(listed.encode())]
        assert subjects == [x509.load_pem_x509_certificate(pem.encode()).subject for pem in (own, other)]
    # the other PBX's certificate is signed by the CA listed, for the address the link dials, and is a client
    # certificate too (it presents it when it connects, and a verify_client PBX checks it)
    spb = _built(tmp_path / "build", "fleet-spb")
    cert = x509.load_pem_x509_certificate(spb["asterisk__sip_tls_keys"]["cert"].encode())
    assert cert.issuer == x509.load_pem_x509_certificate(spb_ca.encode()).subject
    assert "10.20.0.5" in [str(a) for a in cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.IPAddress)]
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in usage and ExtendedKeyUsageOID.SERVER_AUTH in usage


def test_a_tls_link_without_pbx_tls_is_refused_at_its_line(tmp_path):
    shutil.copytree(ROOT / "inventories" / "example-fleet", tmp_path / "fleet")
    _tls(tmp_path / "fleet" / "spb" / "site.yml", "fleet-moscow", pbx_tls=False)
    site = tmp_path / "fleet" / "spb" / "site.yml"
    line = next(i for i, text in enumerate(site.read_text().splitlines(), 1) if "transport: tls" in text)
    with pytest.raises(SiteInvalid) as refused:
        load_site(site)
    assert any(f"site.yml:{line}" in problem and "links[0].transport" in problem and "pbx.tls" in problem
               for problem in refused.value.lines), refused.value.lines


def test_a_fleet_refuses_a_link_tls_at_one_end_only_or_to_a_pbx_without_tls(repo, tmp_path):
    spb = repo / "spb" / "site.yml"
    spb.write_text(spb.read_text().replace("{site: fleet-moscow, transport: tls,", "{site: fleet-moscow,"))
    with pytest.raises(SiteInvalid, match=r"links\[0\].transport: tls here, udp at fleet-spb"):
        compile_fleet(site_files([repo]), out_dir=tmp_path / "build")
    # St Petersburg with no link back and no pbx.tls: only the fleet sees Moscow's end can't work
    text = spb.read_text().replace("  tls: {}\n", "")
    spb.write_text(text[:text.index("links:")])
    with pytest.raises(SiteInvalid, match="tls needs pbx.tls at fleet-spb too"):
        compile_fleet(site_files([repo]), out_dir=tmp_path / "build")


def _alone(repo: Path, ca: str | None) -> Path:
    site = repo / "spb" / "site.yml"
    extra = f" ca: {ca}," if ca else ""
    site.write_text(site.read_text().replace("{site: fleet-moscow, transport: tls,",
                                             f"{{site: fleet-moscow, transport: tls, host: 10.10.0.5,{extra}"))
    secrets = repo / "spb" / "secrets.yml"
    secrets.write_text(secrets.read_text() + "links:\n  fleet-moscow:\n    password: shared-0123\n")
    return site


def test_a_site_alone_needs_the_other_sites_ca_and_takes_it_from_a_file_beside_it(repo, tmp_path):
    with pytest.raises(SiteInvalid, match=r"links\[0\]: a TLS link to 'fleet-moscow' has no CA"):
        compile_site(_alone(repo, None), tmp_path / "alone")
    ca = pki.new_ca("fleet-moscow", pki.new_key())
    (repo / "spb" / "moscow-ca.pem").write_text(ca)
    site = repo / "spb" / "site.yml"
    site.write_text(site.read_text().replace("host: 10.10.0.5,", "host: 10.10.0.5, ca: moscow-ca.pem,"))
    compiled = compile_site(site, tmp_path / "alone")
    variables = {**yaml.safe_load((compiled.out_dir / "vars.yml").read_text()),
                 **yaml.safe_load((compiled.out_dir / "secrets.yml").read_text())}
    assert variables["asterisk__link_cas"] == {"fleet-moscow": ca}
    assert ca in render("asterisk/templates/etc/asterisk/pbxctl-sip-ca.crt.j2", variables)


def test_a_ca_file_that_is_no_ca_or_missing_is_refused(repo, tmp_path):
    site = _alone(repo, "moscow-ca.pem")
    with pytest.raises(SiteInvalid, match="'moscow-ca.pem' is not a file"):
        load_site(site)
    key = pki.new_key()
    leaf = pki.server_cert(pki.new_ca("x", key), key, pki.new_key(), ["10.10.0.5"])
    (repo / "spb" / "moscow-ca.pem").write_text(leaf)
    with pytest.raises(SiteInvalid, match=r"links\[0\].ca: .* is not a CA certificate"):
        compile_site(site, tmp_path / "alone")
    (repo / "spb" / "moscow-ca.pem").write_text("not pem")
    with pytest.raises(SiteInvalid, match=r"links\[0\].ca: not a PEM certificate"):
        compile_site(site, tmp_path / "alone")


def test_a_ca_on_a_udp_link_is_refused(tmp_path):
    shutil.copytree(ROOT / "inventories" / "example-fleet", tmp_path / "fleet")
    site = tmp_path / "fleet" / "spb" / "site.yml"
    (site.parent / "ca.pem").write_text(pki.new_ca("x", pki.new_key()))
    site.write_text(site.read_text().replace("{site: fleet-moscow,", "{site: fleet-moscow, ca: ca.pem,"))
    with pytest.raises(SiteInvalid, match=r"links\[0\].ca.*for a TLS link only"):
        load_site(site)
