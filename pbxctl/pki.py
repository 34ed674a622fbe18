"""The site's own certificate authority: made once, kept in secrets.yml; server certificates derived from it.

The CA key and cert and the server's key are generated once (RSA 2048: the oldest phones here speak nothing
newer). The server certificate is not stored: it is re-derived on every compile for the addresses the site has
now, and comes out byte-for-byte the same for the same addresses (PKCS#1 v1.5 signatures are deterministic, the
serial is a hash of the names, the validity is the CA's), so a repeat apply changes nothing and a lab retarget
gets a certificate for the lab's addresses without touching secrets.yml.
"""

import hashlib
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address, ip_address

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_YEARS = 20


def _pem_key(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _load_key(pem: str):
    # our own keys, from secrets.yml: skip the RSA consistency check (~0.1 s a key), every compile loads two
    return serialization.load_pem_private_key(pem.encode(), None, unsafe_skip_rsa_key_validation=True)


def new_key() -> str:
    return _pem_key(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def new_ca(site_name: str, key_pem: str) -> str:
    key = _load_key(key_pem)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"pbxctl {site_name} CA")])
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)  # phones with a slow clock
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + timedelta(days=365 * CA_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256(), rsa_padding=padding.PKCS1v15()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _san(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def server_cert(ca_cert_pem: str, ca_key_pem: str, server_key_pem: str, names: list[str]) -> str:
    """A TLS server certificate for `names` (addresses or host names), the same bytes for the same inputs."""
    ca = x509.load_pem_x509_certificate(ca_cert_pem.encode())
    ca_key = _load_key(ca_key_pem)
    public = _load_key(server_key_pem).public_key()
    names = sorted(set(names), key=lambda n: (not _is_ip(n), n))
    serial = int.from_bytes(hashlib.sha256("\n".join(names).encode()).digest()[:16], "big") >> 1
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca.subject).public_key(public).serial_number(serial)
            .not_valid_before(ca.not_valid_before_utc).not_valid_after(ca.not_valid_after_utc)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            # client too: over a TLS link the PBX presents it when it connects to the other PBX, which may verify it
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName([_san(n) for n in names]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256(), rsa_padding=padding.PKCS1v15()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _is_ip(name: str) -> bool:
    try:
        IPv4Address(name)
    except ValueError:
        return False
    return True


def new_ssh_key() -> str:
    """An Ed25519 key in OpenSSH's format, for a login pbxctl makes (the scheduled backup's)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()).decode()


def ssh_public_key(private_pem: str, comment: str) -> str:
    """The authorized_keys line of a key new_ssh_key made."""
    key = serialization.load_ssh_private_key(private_pem.encode(), None)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return f"{public.decode()} {comment}"
