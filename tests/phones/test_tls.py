"""The site CA and the HTTPS servers' certificate; the provisioning fields' meaning since HTTPS-only."""

from ipaddress import IPv4Address

from cryptography import x509

from pbxctl import pki
from pbxctl.resolve import tls_names
from pbxctl.secrets import Secrets, fill_generated, tls_server
from pbxctl.site import Site
from pbxctl.site.phones import Provisioning


def _site(**provisioning) -> Site:
    return Site.model_validate({
        "site": {"name": "tls"}, "pbx": {"host": "pbx.office.example", "address": "192.168.10.5"},
        "extensions": [{"number": "101", "name": "Anna"}, {"number": "102", "name": "Boris"}],
        "phones": [{"mac": "000e08d10001", "model": "cisco-spa502g", "lines": [{"extension": "101"}]},
                   {"mac": "080023a10004", "model": "panasonic-kx-hdv130", "lines": [{"extension": "102"}]}],
        "provisioning": provisioning or {},
    })


def test_ca_is_made_once_and_the_old_site_wide_admin_password_goes():
    site = _site()
    secrets = Secrets({"admin": {"phones": {"password": "shared-by-all"}}})
    assert fill_generated(site, secrets)
    ca = secrets.get("tls", "ca", "cert")
    assert "admin" not in secrets.data
    admins = [secrets.get("phones", p.mac, "admin_password") for p in site.phones]
    assert len(set(admins)) == 2 and all(len(a) >= 16 for a in admins)
    assert not fill_generated(site, secrets), "a second compile adds nothing"
    assert secrets.get("tls", "ca", "cert") == ca
    cert = x509.load_pem_x509_certificate(ca.encode())
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True


def test_server_certificate_is_signed_by_the_ca_for_the_sites_addresses_and_stable():
    site = _site(server="192.168.10.6")
    secrets = Secrets()
    fill_generated(site, secrets)
    first, again = tls_server(secrets, tls_names(site)), tls_server(secrets, tls_names(site))
    assert first == again, "same bytes every compile: a repeat apply changes nothing"
    cert = x509.load_pem_x509_certificate(first["cert"].encode())
    ca = x509.load_pem_x509_certificate(first["ca_cert"].encode())
    cert.verify_directly_issued_by(ca)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.IPAddress)) == {IPv4Address("192.168.10.5"), IPv4Address("192.168.10.6")}
    assert san.get_values_for_type(x509.DNSName) == ["pbx.office.example"]
    assert tls_names(site) == ["192.168.10.5", "192.168.10.6", "pbx.office.example"]
    # other addresses (a lab retarget): another certificate from the same CA and key, secrets.yml untouched
    other = pki.server_cert(first["ca_cert"], secrets.get("tls", "ca", "key"), first["key"], ["10.253.3.10"])
    assert other != first["cert"]
    x509.load_pem_x509_certificate(other.encode()).verify_directly_issued_by(ca)


def test_older_site_files_read_as_https():
    prov = Provisioning.model_validate({"protocols": ["tftp", "http"], "http_port": 8080})
    assert prov.protocols == ["tftp", "https"] and prov.https_port == 8080
    assert Provisioning.model_validate({"protocols": ["http", "https"]}).protocols == ["https"]
    assert Provisioning().protocols == ["tftp", "https"] and Provisioning().https_port == 443
