"""secrets.yml beside the site file: generated once, kept, ansible-vault encrypted when a password is given."""

import os
import secrets as random
import string
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from ansible.errors import AnsibleError
from ansible.parsing.vault import VaultLib, is_encrypted

from . import pki
from .load import FastDumper, fast_load
from .problems import SiteInvalid
from .site import Site
from .site.catalogue import MODELS
from .site.integrations import token_name as cdr_token_name
from .vault import vault_lib

VAULT_ENV = "PBXCTL_VAULT_PASSWORD_FILE"
ALPHABET = string.ascii_letters + string.digits


def _draw(alphabet: str, length: int) -> str:
    """length characters, each uniform over alphabet, from the OS's CSPRNG: bytes past the last whole multiple of
    the alphabet's size are dropped (no modulo bias). One read of random bytes a token, where secrets.choice
    reads the OS once a character (a 10,000-extension site's first compile made nearly a million reads)."""
    size = len(alphabet)
    limit = 256 - 256 % size
    drawn: list[str] = []
    while len(drawn) < length:
        drawn += [alphabet[byte % size] for byte in random.token_bytes(2 * length) if byte < limit]
    return "".join(drawn[:length])


def _token(length: int) -> str:
    return _draw(ALPHABET, length)


def _pin(length: int = 6) -> str:
    return _draw(string.digits, length)


MOBILE_PIN_LENGTH = (6, 12)


def weak_pin(pin: object) -> str | None:
    """Why a mobile's dial-out PIN is refused, or None. Caller ID can be spoofed: the PIN is what stands between a
    stranger and a call out on the office's trunks, so it must be digits only (DTMF), 6-12 long, and not one a
    guesser tries first (one digit repeated, a straight run up or down)."""
    text = str(pin) if isinstance(pin, int | str) else ""
    low, high = MOBILE_PIN_LENGTH
    if not text.isascii() or not text.isdigit() or not low <= len(text) <= high:
        return f"{low}-{high} digits, nothing else"
    if len(set(text)) == 1:
        return "one digit repeated: too easy to guess"
    steps = {(int(b) - int(a)) % 10 for a, b in zip(text, text[1:], strict=False)}
    if steps in ({1}, {9}):
        return "a straight run of digits: too easy to guess"
    return None


def _mobile_pin() -> str:
    while weak_pin(pin := _pin(MOBILE_PIN_LENGTH[0])):
        pass
    return pin


def vault_password_file(option: Path | None) -> Path | None:
    if option:
        return option
    env = os.environ.get(VAULT_ENV) or os.environ.get("ANSIBLE_VAULT_PASSWORD_FILE")
    return Path(env) if env else None


def _vault(password_file: Path) -> VaultLib:
    return vault_lib(password_file)  # as Ansible reads it: a file, or an executable printing the password


@dataclass
class Secrets:
    """What secrets.yml holds; sections mirror the site file."""

    data: dict = field(default_factory=dict)
    encrypted: bool = False  # as read from disk
    added: int = 0  # secrets created since it was read

    def section(self, name: str) -> dict:
        return self.data.setdefault(name, {})

    def ensure(self, section: str, key: str, item: str, make) -> str:
        entry = self.section(section).setdefault(key, {})
        if not entry.get(item):
            entry[item] = make()
            self.added += 1
        return entry[item]

    def get(self, section: str, key: str, item: str) -> str | None:
        entry = (self.data.get(section) or {}).get(key)
        return entry.get(item) if isinstance(entry, dict) else None


def read_secrets(path: Path, password_file: Path | None) -> Secrets:
    if not path.exists():
        return Secrets()
    raw = path.read_bytes()
    encrypted = is_encrypted(raw)
    if encrypted:
        if password_file is None:
            raise SiteInvalid([f"{path}: is vault-encrypted; give --vault-password-file or set {VAULT_ENV}"])
        try:
            raw = _vault(password_file).decrypt(raw)
        except OSError as error:
            raise SiteInvalid([f"{password_file}: cannot read the vault password: {error.strerror}"]) from None
        except AnsibleError:
            raise SiteInvalid([f"{path}: cannot decrypt with the password in {password_file}"]) from None
    try:
        data = fast_load(raw) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{mark.line + 1}:{mark.column + 1}" if mark else "1:1"
        raise SiteInvalid([f"{path}:{where}: YAML syntax: {getattr(error, 'problem', None) or error}"]) from None
    if not isinstance(data, dict):
        raise SiteInvalid([f"{path}:1:1: secrets file must be a mapping"])
    return Secrets(data, encrypted)


def seal(text: bytes, password_file: Path) -> bytes:
    """text ansible-vault encrypted with the password in password_file."""
    return _vault(password_file).encrypt(text)


def write_secrets(path: Path, secrets: Secrets, password_file: Path | None) -> None:
    text = yaml.dump(secrets.data, Dumper=FastDumper, sort_keys=True, default_flow_style=False).encode()
    if password_file is not None:
        text = seal(text, password_file)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(text)
    os.replace(tmp, path)


def fill_generated(site: Site, secrets: Secrets) -> bool:
    """Create every secret pbxctl owns that is still missing; return whether anything was added."""
    before = secrets.added
    for extension in site.extensions:
        secrets.ensure("extensions", extension.number, "password", lambda: _token(32))
        # auth user names are random too, so extension numbers can't be guessed from a scan
        secrets.ensure("extensions", extension.number, "username", lambda: "u" + _token(11).lower())
        secrets.ensure("extensions", extension.number, "voicemail_pin", _pin)
        if extension.mobile is not None and extension.mobile.dial_out:
            # what the mobile keys in before it may dial out as the extension (pbxctl.site.features)
            secrets.ensure("extensions", extension.number, "mobile_pin", _mobile_pin)
    for trunk in site.trunks:
        if trunk.type != "gsm_dongle":
            secrets.ensure("trunk_endpoints", trunk.name, "id", lambda: _token(10).lower())
    for phone in site.phones:
        secrets.ensure("phones", phone.mac, "http_password", lambda: _token(24))
        # one web/admin password per device: one phone read out doesn't open the others
        secrets.ensure("phones", phone.mac, "admin_password", lambda: _token(16))
        if site.provisioning.yealink_aes and MODELS[phone.model].vendor == "yealink":
            secrets.ensure("phones", phone.mac, "aes_key", lambda: _token(16))  # AES-128: 16 characters
    if (secrets.data.get("admin") or {}).pop("phones", None) is not None:  # the old site-wide one
        secrets.added += 1
        if not secrets.data["admin"]:
            del secrets.data["admin"]
    # the site's CA (made once) and the key of its HTTPS servers; certificates are derived per compile (pki.py)
    secrets.ensure("tls", "ca", "key", pki.new_key)
    secrets.ensure("tls", "ca", "cert", lambda: pki.new_ca(site.site.name, secrets.get("tls", "ca", "key")))
    secrets.ensure("tls", "server", "key", pki.new_key)
    if site.ups:
        secrets.ensure("ups", site.ups.name, "upsmon_password", lambda: _token(24))
    secrets.ensure("cdr", "recordings", "http_password", lambda: _token(24))
    if site.integrations.ami:  # the live-events client's AMI login: read it here, or set your own with secrets set
        secrets.ensure("integrations", "ami", "secret", lambda: _token(24))
    if site.backup:  # the scheduled backup's login at its target (its public half goes in authorized_keys)
        secrets.ensure("backup", "ssh", "private_key", pki.new_ssh_key)
    if site.standby:  # the pair's replication login: each node pushes to the other with it
        secrets.ensure("standby", "ssh", "private_key", pki.new_ssh_key)
    return secrets.added != before


def missing_external(site: Site, secrets: Secrets) -> list[str]:
    """Secrets only the user can supply (provider passwords): report them, never invent them."""
    missing = []
    for trunk in site.trunks:
        needs = trunk.type == "sip_register" or (trunk.type == "sip_ip" and trunk.username)
        if needs and not secrets.get("trunks", trunk.name, "password"):
            missing.append(f"trunks.{trunk.name}.password")
    tls = site.pbx.tls
    if tls and tls.certificate and not tls.key and not secrets.get("tls", "sip", "key"):
        missing.append("tls.sip.key")  # the key of the certificate the site gives, when no key file is named
    if site.router and not secrets.get("router", "api", "password"):
        missing.append("router.api.password")
    for name in integrations_with_auth(site):
        if not secrets.get("integrations", name, "token"):
            missing.append(f"integrations.{name}.token")
    return missing


def tls_server(secrets: Secrets, names: list[str]) -> dict:
    """The site CA's certificate and the HTTPS server's key and certificate for these names (resolve.tls_names)."""
    ca_cert, ca_key = secrets.get("tls", "ca", "cert"), secrets.get("tls", "ca", "key")
    key = secrets.get("tls", "server", "key")
    return {"ca_cert": ca_cert, "key": key, "cert": pki.server_cert(ca_cert, ca_key, key, names)}


def integrations_with_auth(site: Site) -> dict:
    """The outside systems pbxctl logs in to, by their name in secrets.yml: {name: (url, SecretAuth)}."""
    found = {}
    if site.crm and site.crm.auth:
        found["crm"] = (site.crm.url, site.crm.auth)
    for target in site.cdr.all_targets():  # cdr.webhook is the target 'webhook': integrations.cdr_webhook
        if target.auth:
            found[cdr_token_name(target.name)] = (target.url, target.auth)
    if site.security.alerts.webhook and site.security.alerts.webhook_auth:
        found["alerts_webhook"] = (site.security.alerts.webhook, site.security.alerts.webhook_auth)
    return found
