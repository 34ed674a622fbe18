"""Phone provisioning in the lab: the example office's files served by the PBX (tftpd-hpa: the secret-free
model-level files only; nginx over HTTPS: a device's files only to its own login), phones that follow the
first-contact chain and register with nothing but what they fetched and were staged with, recordings over HTTPS,
and `phones resync` NOTIFYs that reach a real SIP client.

The SIP client here is a small UDP user agent written for this test (REGISTER with digest auth, answers OPTIONS,
records NOTIFYs): the PBX is the real Asterisk in the lab's `pbx` machine, and every message is real SIP.
"""

from __future__ import annotations

import hashlib
import io
import json
import queue
import re
import secrets
import socket
import ssl
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from base64 import b64encode
from pathlib import Path

import pytest
import yaml

from pbxctl.compile import build_dir
from pbxctl.exit_codes import TASK_FAILED
from pbxctl.lab import layout as lab_layout
from pbxctl.lab.retarget import SUFFIX as LAB_SUFFIX
from pbxctl.phones import manifest

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "inventories" / "example-office" / "site.yml"
SECRETS = SITE.parent / "secrets.yml"
BUILD = ROOT / build_dir("example-office", LAB_SUFFIX)
PBXCTL = str(Path(sys.executable).parent / "pbxctl")
PBX = lab_layout.machine("pbx").address
HOST = lab_layout.HOST_ADDRESS

# one phone per vendor: (MAC, the per-device file, the extension on its first line, the event its NOTIFY carries)
PHONES = {
    "cisco": ("000e08d10002", "spa000e08d10002.xml", "102", "resync"),
    "panasonic": ("080023a10004", "Config080023A10004.cfg", "103", "check-sync"),
    "eltex": ("a8f94be00006", "eltex/a8f94be00006.tar.gz", "104", "check-sync;reboot=false"),
    "yealink": ("805ec0100008", "805ec0100008.cfg", "105", "check-sync;reboot=false"),
    "grandstream": ("c074ad100009", "cfgc074ad100009.xml", "106", "check-sync"),
}


def pbxctl(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PBXCTL, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def served() -> dict:
    """The lab PBX with example-office applied (PBX part first, then phones); the rendered files and logins."""
    from pbxctl import lab

    problem = lab.preflight_problem()
    if problem:
        pytest.skip(problem)
    try:
        lab.up(["pbx", "carrier"])
    except lab.LabError as error:
        pytest.skip(f"lab cannot start here: {error}")
    for part in ("pbx", "phones"):
        run = pbxctl("apply", str(SITE), "--only", part, "--lab")
        assert run.returncode == 0, f"apply --only {part} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    # what the site serves: every rendered file, not the manifest render keeps for itself
    files = {str(p.relative_to(BUILD / "phones")): p.read_bytes()
             for p in sorted((BUILD / "phones").rglob("*")) if p.is_file() and p.name != manifest.NAME}
    role_secrets = yaml.safe_load((BUILD / "secrets.yml").read_text())
    tftp = yaml.safe_load((BUILD / "vars.yml").read_text())["provisioning__tftp_files"]
    phones = yaml.safe_load(SECRETS.read_text())["phones"]
    return {"files": files, "passwords": role_secrets["provisioning__http_passwords"], "tftp": tftp,
            "recordings_password": role_secrets["asterisk__recordings_http_password"],
            "aes_keys": {mac: entry["aes_key"] for mac, entry in phones.items() if entry.get("aes_key")}}


def owner(name: str, macs) -> str | None:
    """The MAC a per-device file belongs to; None for a model-level file."""
    return next((mac for mac in macs if mac in name.lower()), None)


# --- TFTP: only the model-level files, nothing with a secret at any name ---

def tftp_get(remote: str, tmp_path: Path) -> bytes:
    local = tmp_path / "tftp.out"
    local.unlink(missing_ok=True)
    subprocess.run(["tftp", PBX, "-c", "get", remote, str(local)], capture_output=True, timeout=30)
    return local.read_bytes() if local.exists() else b""


def secret_values() -> list[str]:
    """Every value in the site's secrets.yml, and each line of the PEM keys (a partial key is a leak too)."""
    values: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif node is not None and not isinstance(node, bool):
            text = str(node)
            if text.startswith("-----BEGIN CERTIFICATE-----"):
                return  # the site CA's certificate: public by design, phones are handed it to trust
            values.append(text)
            if "PRIVATE KEY" in text:
                values.extend(line for line in text.splitlines() if len(line) >= 16 and "-----" not in line)
    walk(yaml.safe_load(SECRETS.read_text()))
    return values


def tftp_candidates(served: dict) -> list[str]:
    """File names a host on the phone network could ask for: every name pbxctl writes, every name the phones'
    MACs and every model could give, in each vendor's spelling, and paths out of TFTP's directory."""
    from pbxctl.site.catalogue import MODELS

    names = set(served["files"])
    for mac in served["passwords"]:
        for m in (mac, mac.upper()):
            names |= {f"spa{m}.xml", f"spa{m}.cfg", f"Config{m}.cfg", f"{m}.cfg", f"{m}.xml", f"eltex/{m}.tar.gz",
                      f"{m}.tar.gz", f"/srv/pbxctl-phones/spa{m}.xml", f"../pbxctl-phones/Config{m}.cfg"}
    for model in MODELS.values():
        names |= {f"spa{model.cisco_psn}.cfg", f"{model.product}.cfg", f"Config{model.product}.cfg"}
    names |= {"secrets.yml", "vars.yml", "../../etc/asterisk/pjsip.conf", "/etc/asterisk/pjsip.conf",
              "/etc/nginx/pbxctl-phones.key", "/etc/nginx/pbxctl-phones.htpasswd", "../pbxctl-phones/"}
    return sorted(names)


def test_tftp_serves_the_model_level_files_and_nothing_else(served, tmp_path):
    tftp = served["tftp"]
    assert tftp and "pbxctl-ca.pem" in tftp
    for name in tftp:
        assert tftp_get(name, tmp_path) == served["files"][name], name
    for name in set(served["files"]) - set(tftp):  # every device file: not there at its own name
        assert tftp_get(name, tmp_path) == b"", name


def test_nothing_served_over_tftp_holds_a_value_of_secrets_yml(served, tmp_path):
    values = secret_values()
    assert len(values) > 40  # the walk found the site's secrets (passwords, PINs, keys)
    ca = yaml.safe_load(SECRETS.read_text())["tls"]["ca"]
    assert served["files"]["pbxctl-ca.pem"].decode() == ca["cert"]  # what TFTP may hand out of secrets.yml
    answered = {}
    for name in tftp_candidates(served):
        data = tftp_get(name, tmp_path)
        if data:
            answered[name] = data
    assert set(answered) == set(served["tftp"]), sorted(answered)
    for name, data in answered.items():
        text = data.decode("utf-8", "replace")
        leaked = [v for v in values if v in text]
        assert not leaked, f"{name} carries {len(leaked)} value(s) of secrets.yml"


RRQ_PROBE = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
s.settimeout(3)
s.sendto(b"\\x00\\x01spa301.cfg\\x00octet\\x00", (sys.argv[2], 69))
try:
    print("answered", s.recvfrom(1024)[0][:2].hex())
except socket.timeout:
    print("silent")
"""


def test_tftp_answers_only_the_phone_networks(served):
    from pbxctl import lab

    # from the PBX itself: its lab address is in the phones' networks, its loopback is not
    inside = lab.ssh_run("pbx", ["python3", "-c", RRQ_PROBE, PBX, PBX]).stdout.strip()
    outside = lab.ssh_run("pbx", ["python3", "-c", RRQ_PROBE, "127.0.0.1", "127.0.0.1"]).stdout.strip()
    assert inside == "answered 0003", inside  # DATA
    assert outside == "silent"
    rules = lab.ssh_run("pbx", "nft list table inet pbxctl_provisioning").stdout
    assert "udp dport 69 ip saddr @phone_networks accept" in rules
    assert re.search(r"udp dport 69 counter packets [1-9]\d* bytes \d+ drop", rules), rules


def test_served_files_are_not_world_readable(served):
    from pbxctl import lab

    listing = lab.ssh_run("pbx", "find /srv/pbxctl-phones -printf '%y %m %u:%g %P\\n'").stdout.split("\n")
    entries = [line.split(" ", 3) for line in listing if line.strip()]
    assert {e[3] for e in entries if e[0] == "f"} == set(served["files"])
    for kind, mode, owner_group, path in entries:
        assert owner_group == "root:pbxctl-phones", path
        assert mode == ("640" if kind == "f" else "750"), path
    htpasswd = lab.ssh_run("pbx", "stat -c '%a %U:%G' /etc/nginx/pbxctl-phones.htpasswd").stdout.strip()
    assert htpasswd == "640 root:www-data"
    # tftpd's own directory: the secret-free copies only, and tftpd can't read the real phone files
    tftp_dir = lab.ssh_run("pbx", "find /srv/pbxctl-tftp -type f -printf '%P\\n'").stdout.split()
    assert sorted(tftp_dir) == served["tftp"]
    assert "pbxctl-phones" not in lab.ssh_run("pbx", "id -nG tftp").stdout
    denied = lab.ssh_run("pbx", "runuser -u tftp -- cat /srv/pbxctl-phones/spa000e08d10002.xml", check=False)
    assert denied.returncode != 0 and "Password" not in denied.stdout


# --- HTTPS: a device's own files only to its own login ---

def https_get(path: str, login: tuple[str, str] | None = None, port: int = 443,
              ca: Path | None = None) -> tuple[int, bytes, dict]:
    context = ssl.create_default_context(cafile=str(ca or BUILD / "phones" / "pbxctl-ca.pem"))
    request = urllib.request.Request(f"https://{PBX}:{port}/{path}")
    if login:
        request.add_header("Authorization", "Basic " + b64encode(f"{login[0]}:{login[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def test_every_file_over_https_with_per_device_logins(served):
    passwords = served["passwords"]
    other = {mac: next(m for m in passwords if m != mac) for mac in passwords}
    devices = models = 0
    for name, data in served["files"].items():
        mac = owner(name, passwords)
        if mac is None:  # model-level and the CA: no secrets, no login
            models += 1
            assert https_get(name)[:2] == (200, data), name
            continue
        devices += 1
        status, body, headers = https_get(name)
        assert status == 401 and headers.get("WWW-Authenticate", "").startswith("Basic"), name
        assert b"Password" not in body and passwords[mac].encode() not in body
        assert https_get(name, (mac, "wrong-" + passwords[mac]))[0] == 401, name
        # another phone's valid login opens only that phone's files
        assert https_get(name, (other[mac], passwords[other[mac]]))[0] in (401, 403), name
        status, body, _ = https_get(name, (mac, passwords[mac]))
        assert (status, body) == (200, data), name
    # a file per device; Cisco and Panasonic one more per model, Yealink one common file; the CA
    assert (devices, models) == (len(passwords), 7)


def test_the_certificate_is_the_site_cas_and_plain_http_serves_nothing(served):
    # a client trusting only the system's CAs refuses the server: it is the site CA's own
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"https://{PBX}/pbxctl-ca.pem", timeout=10,
                               context=ssl.create_default_context())
    name = next(n for n in served["files"] if owner(n, served["passwords"]))
    mac = owner(name, served["passwords"])
    request = urllib.request.Request(f"http://{PBX}/{name}")
    request.add_header("Authorization", "Basic " + b64encode(f"{mac}:{served['passwords'][mac]}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, ConnectionError):
        status = None  # nothing listens
    assert status in (None, 400, 404), status


def test_https_serves_nothing_else(served):
    mac = next(iter(served["passwords"]))
    for path in ("", "index.html", "eltex/", "spa.xml", "nothing.cfg", f"spa{mac.upper()}.xml", "../etc/passwd",
                 "%2e%2e/etc/passwd"):
        assert https_get(path)[0] in (400, 404), path
    assert https_get("eltex/", (mac, served["passwords"][mac]))[0] == 404


# --- values a phone would take from its fetched file ---

def line_from_cisco(data: bytes) -> dict:
    profile = ET.fromstring(data)
    value = {child.tag: (child.text or "") for child in profile}
    host, _, port = value["Proxy_1_"].partition(":")
    return {"user": value["User_ID_1_"], "auth_user": value["Auth_ID_1_"], "password": value["Password_1_"],
            "server": host, "port": int(port or 5060)}


def line_from_panasonic(data: bytes) -> dict:
    value = dict(re.findall(r'^([A-Z0-9_]+)="(.*)"\r$', data.decode("utf-8"), re.M))
    return {"user": value["PHONE_NUMBER_1"], "auth_user": value["SIP_AUTHID_1"], "password": value["SIP_PASS_1"],
            "server": value["SIP_RGSTR_ADDR_1"], "port": int(value["SIP_RGSTR_PORT_1"])}


def line_from_eltex(data: bytes) -> dict:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        text = b"".join(archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()).decode()
    value = dict(re.findall(r"^([a-z0-9_.]+)=(.*)$", text, re.M))
    return {"user": value["sip.account.1.user"], "auth_user": value["sip.account.1.auth_name"],
            "password": value["sip.account.1.password"], "server": value["sip.account.1.server"],
            "port": int(value["sip.account.1.port"])}


def line_from_yealink(data: bytes) -> dict:
    value = dict(re.findall(r"^([a-z0-9_.]+) = ?(.*)$", data.decode("utf-8"), re.M))
    return {"user": value["account.1.user_name"], "auth_user": value["account.1.auth_name"],
            "password": value["account.1.password"], "server": value["account.1.sip_server.1.address"],
            "port": int(value["account.1.sip_server.1.port"])}


def line_from_grandstream(data: bytes) -> dict:
    config = ET.fromstring(data).find("config")
    host, _, port = config.findtext("P47").partition(":")
    return {"user": config.findtext("P35"), "auth_user": config.findtext("P36"), "password": config.findtext("P34"),
            "server": host, "port": int(port or 5060)}


def as_device_reads(served: dict, mac: str, data: bytes) -> bytes:
    """A Yealink staged with its AES key (provisioning.yealink_aes) decrypts its own file with it."""
    from pbxctl.phones import yealink

    key = served["aes_keys"].get(mac)
    return yealink.decrypt(data, key) if key else data


PARSERS = {"cisco": line_from_cisco, "panasonic": line_from_panasonic, "eltex": line_from_eltex,
           "yealink": line_from_yealink, "grandstream": line_from_grandstream}


def resync_challenge(vendor: str, data: bytes, line: dict) -> tuple[str, str] | None:
    """The credentials a phone challenges a resync NOTIFY with, as its vendor documents: a Cisco SPA with
    Auth_Resync-Reboot_1_ Yes answers 401 and accepts only a NOTIFY authorised with line 1's login."""
    if vendor == "cisco" and ET.fromstring(data).findtext("Auth_Resync-Reboot_1_") == "Yes":
        return line["auth_user"], line["password"]
    return None


def fetched_line(vendor: str, served: dict) -> dict:
    """Fetch the phone's own file over HTTP with the login the phone has, and read its first line from it."""
    mac, name, extension, _ = PHONES[vendor]
    status, data, _ = https_get(name, (mac, served["passwords"][mac]))
    assert status == 200
    data = as_device_reads(served, mac, data)
    line = PARSERS[vendor](data)
    assert line["user"] == extension and line["server"] == PBX
    line["challenge"] = resync_challenge(vendor, data, line)
    return line


@pytest.mark.parametrize("vendor", sorted(PHONES))
def test_a_line_registers_with_only_what_its_file_says(served, vendor):
    line = fetched_line(vendor, served)
    with SipLine(line["server"], line["port"]) as sip:
        assert sip.register(line["user"], line["auth_user"], line["password"]) == 200
        assert sip.register(line["user"], line["auth_user"], "x" + line["password"]) != 200  # a wrong one is refused
        assert sip.register(line["user"], line["auth_user"], line["password"]) == 200
        sip.unregister()


@pytest.mark.parametrize("vendor", sorted(PHONES))
def test_a_line_places_a_call_with_what_its_file_says(served, vendor, tmp_path):
    """A real SIP phone (baresip) set up from the fetched file alone registers and calls the voicemail code the
    file gives its message key: the PBX answers and audio flows both ways."""
    from pbxctl.lab.phone import Phone

    line = fetched_line(vendor, served)
    phone = Phone(tmp_path / "phone", line["user"], line["password"], line["server"], server_port=line["port"],
                  auth_user=line["auth_user"], max_lifetime=120).start()
    try:
        assert phone.register(), phone.log()[-2000:]
        outcome = phone.call("*97")
        assert outcome.answered, outcome.reason
        time.sleep(2)
        phone.hangup()
        phone.wait_closed(timeout=10)
        sent, received = phone.last_call_rtp()
        assert sent > 0 and received > 0, (sent, received)
    finally:
        phone.stop()


@pytest.mark.parametrize("vendor", sorted(PHONES))
def test_resync_sends_the_vendors_notify_to_the_registered_phone(served, vendor):
    mac, _, extension, event = PHONES[vendor]
    line = fetched_line(vendor, served)
    with SipLine(line["server"], line["port"], challenge=line["challenge"]) as sip:
        assert sip.register(line["user"], line["auth_user"], line["password"]) == 200
        run = pbxctl("phones", "resync", str(SITE), "--lab", "--mac", mac, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
        assert mac in run.stdout
        # voicemail indicators (message-summary) arrive unasked after a registration: not what we are waiting for
        notify = sip.wait_request("NOTIFY", timeout=20, unless_event="message-summary")
        sip.unregister()
    assert notify is not None, "no NOTIFY accepted"
    assert notify.header("Event") == event
    assert notify.start.startswith(f"NOTIFY sip:{extension}@")
    if line["challenge"]:
        # the phone challenged the first one; Asterisk answered with the line's own login (outbound_auth)
        assert sip.challenged, "the phone's 401 was never sent"
        assert notify.header("Authorization").startswith("Digest ")


# --- first contact: bootstrap over TFTP → own file over HTTPS with the staged login → registration ---

def _expand(url: str, mac: str, product: str) -> str:
    return url.replace("$MA", mac).replace("{MAC}", mac.upper()).replace("{MODEL}", product)


def _fetch(url: str, login: tuple[str, str] | None, ca: Path, tmp_path: Path) -> bytes:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "tftp":
        assert parts.hostname == PBX
        return tftp_get(parts.path.lstrip("/"), tmp_path)
    assert parts.scheme == "https", url  # a device file never over anything else
    status, body, _ = https_get(parts.path.lstrip("/"), login, parts.port or 443, ca)
    assert status == 200, (url, status)
    return body


@pytest.mark.parametrize("vendor", ["cisco", "panasonic", "yealink", "grandstream"])
def test_first_contact_chain_ends_in_a_registration(served, vendor, tmp_path):
    """What a factory-reset device does: ask TFTP for its model's file, trust the CA it names, fetch its own file
    over HTTPS with the login it was staged with (MAC + its password), register with what that file says."""
    mac, name, extension, _ = PHONES[vendor]
    staged = served["passwords"][mac]  # set on the device at staging, as GPP_A / its Standard File URL
    from pbxctl.load import load_site
    from pbxctl.phones import cisco, panasonic, yealink
    from pbxctl.site.catalogue import MODELS

    model = MODELS[next(p.model for p in load_site(SITE).phones if p.mac == mac)]
    product = model.product
    if vendor == "cisco":  # a factory-reset SPA asks for /spa$PSN.cfg by itself, then runs Profile_Rule_B
        boot = ET.fromstring(tftp_get(cisco.bootstrap_name(model), tmp_path))
        assert boot.find("Profile_Rule") is None, "the factory rule stays: rule B fetches the own file"
        ca_url, rule = boot.findtext("Custom_CA_Rule"), boot.findtext("Profile_Rule_B")
        options, _, url = rule.partition("]")
        assert options == "[--uid $MA --pwd $A", rule  # only the device's own values: no secret in the file
        login = (mac, staged)
    elif vendor == "yealink":  # option 66 (TFTP here): the common file first, then <mac>.cfg from server.url
        text = tftp_get(yealink.COMMON, tmp_path).decode()
        value = dict(re.findall(r"^([a-z0-9_.]+) = (.*)$", text, re.M))
        ca_url = value["static.trusted_certificates.url"]
        url = value["static.auto_provision.server.url"] + "$MA.cfg"
        assert "username" not in text and "password" not in text
        login = (mac, staged)  # Auto Provision user name / password, staged
    elif vendor == "grandstream":  # no model file: cfg<mac>.xml from the staged Config Server Path over HTTPS
        ca_url = f"tftp://{PBX}/pbxctl-ca.pem"
        url = f"https://{PBX}/cfg$MA.xml"
        login = (mac, staged)
    else:
        text = tftp_get(panasonic.model_name(model), tmp_path).decode()
        value = dict(re.findall(r'^([A-Z0-9_]+)="(.*)"\r$', text, re.M))
        ca_url, url = value["CFG_ROOT_CERTIFICATE_PATH"], value["CFG_STANDARD_FILE_PATH"]
        assert "@" not in url
        login = (mac, staged)
    ca = tmp_path / "ca.pem"
    ca.write_bytes(_fetch(ca_url, None, ca, tmp_path))
    assert ca.read_bytes() == served["files"]["pbxctl-ca.pem"]
    own_url = _expand(url, mac, product)
    assert urllib.parse.urlsplit(own_url).path.lstrip("/") == name
    # not staged: the device gets nothing
    assert https_get(name, None, urllib.parse.urlsplit(own_url).port or 443, ca)[0] == 401
    line = PARSERS[vendor](as_device_reads(served, mac, _fetch(own_url, login, ca, tmp_path)))
    assert line["user"] == extension and line["server"] == PBX
    with SipLine(line["server"], line["port"]) as sip:
        assert sip.register(line["user"], line["auth_user"], line["password"]) == 200
        sip.unregister()


# --- recordings over HTTPS; nginx reads them and nothing else of Asterisk's ---

def test_recordings_over_https_and_nginx_reads_nothing_else(served):
    from pbxctl import lab

    # a recording as Asterisk writes one: as its user, with its running umask, in a day folder it creates
    umask = lab.ssh_run("pbx", "awk '/^Umask/ {print $2}' /proc/$(pidof -s asterisk)/status").stdout.strip()
    assert re.fullmatch(r"0[0-7]{3}", umask), umask
    day = "1999/01/01"  # a day no real recording has
    lab.ssh_run("pbx", f"runuser -u asterisk -- sh -c 'umask {umask} && mkdir -p /var/spool/asterisk/monitor/{day}"
                       f" && printf RIFFtest > /var/spool/asterisk/monitor/{day}/lab-test.wav'")
    path = f"recordings/{day}/lab-test.wav"
    login = ("crm", served["recordings_password"])
    assert https_get(path, login, 8088)[:2] == (200, b"RIFFtest")
    assert https_get(path, None, 8088)[0] == 401
    assert https_get(path, ("crm", "wrong"), 8088)[0] == 401
    with pytest.raises(urllib.error.URLError):  # plain HTTP on the recordings port: no answer
        urllib.request.urlopen(f"http://{PBX}:8088/{path}", timeout=10)
    # the URL the CDR webhook sends is the HTTPS one
    assert yaml.safe_load((BUILD / "vars.yml").read_text())["asterisk__cdr"]["recording_base_url"] \
        == f"https://{PBX}:8088/recordings/"
    # nginx's user: the recordings yes, Asterisk's configuration and voicemail no
    www = "runuser -u www-data -- "
    assert lab.ssh_run("pbx", f"{www}cat /var/spool/asterisk/monitor/{day}/lab-test.wav").stdout == "RIFFtest"
    for target in ("cat /etc/asterisk/pjsip.conf", "cat /etc/asterisk/voicemail.conf",
                   "ls /var/spool/asterisk/voicemail", "ls /var/spool/asterisk"):
        result = lab.ssh_run("pbx", www + target, check=False)
        assert result.returncode != 0, target
    assert "asterisk" not in lab.ssh_run("pbx", "id -nG www-data").stdout.split()
    lab.ssh_run("pbx", "rm -r /var/spool/asterisk/monitor/1999")


def test_resync_of_a_phone_not_registered_sends_nothing(served):
    mac = "000e08d10003"  # the SPA504G on extension 100: no contact unless someone registered it
    from pbxctl import lab

    if "100/sip:" in lab.ssh_run("pbx", ["asterisk", "-rx", "pjsip show contacts"]).stdout:
        pytest.skip("extension 100 is registered by another lab user right now")
    run = pbxctl("phones", "resync", str(SITE), "--lab", "--mac", mac, timeout=300)
    assert run.returncode == TASK_FAILED
    assert "not registered" in run.stderr and mac in run.stderr


def test_apply_removes_files_no_phone_of_the_site_has(served):
    from pbxctl import lab

    stray = ["spa0011223344ff.xml", "eltex/0011223344fe.tar.gz", "old/KX-UT136.cfg"]
    lab.ssh_run("pbx", "mkdir -p /srv/pbxctl-phones/old && cd /srv/pbxctl-phones && touch " + " ".join(stray))
    run = pbxctl("apply", str(SITE), "--only", "phones", "--lab", "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    left = lab.ssh_run("pbx", "cd /srv/pbxctl-phones && find . -type f | sed 's|^./||' | sort").stdout.split()
    assert sorted(left) == sorted(served["files"])
    assert lab.ssh_run("pbx", "test -e /srv/pbxctl-phones/old", check=False).returncode == 1


def test_second_apply_changes_nothing(served):
    run = pbxctl("apply", str(SITE), "--only", "phones", "--lab", "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout)
    assert summary["changed"] == 0, summary["changes"]


# --- a minimal SIP user agent over UDP ---

class Message:
    def __init__(self, raw: bytes):
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", "replace").split("\r\n")
        self.start = lines[0]
        self.headers: list[tuple[str, str]] = []
        for text in lines[1:]:
            name, _, value = text.partition(":")
            self.headers.append((name.strip().lower(), value.strip()))

    @property
    def is_request(self) -> bool:
        return not self.start.startswith("SIP/2.0")

    @property
    def method(self) -> str:
        return self.start.split(" ", 1)[0] if self.is_request else self.header("CSeq").split()[-1]

    @property
    def status(self) -> int:
        return int(self.start.split()[1])

    def header(self, name: str) -> str:
        return next((v for n, v in self.headers if n == name.lower()), "")

    def all(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n == name.lower()]


class SipLine:
    """One SIP account on the lab host: registers (digest auth), answers OPTIONS and NOTIFY with 200, keeps NOTIFYs."""

    def __init__(self, server: str, port: int = 5060, local: str = HOST,
                 challenge: tuple[str, str] | None = None):
        self.server, self.port = server, port
        self.challenge = challenge  # (user, password) a NOTIFY must be authorised with, as a phone that demands it
        self.nonce = secrets.token_hex(12)
        self.challenged = 0  # NOTIFYs answered 401
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((local, 0))
        self.local, self.local_port = self.sock.getsockname()
        self.sock.settimeout(0.5)
        self.requests: queue.Queue[Message] = queue.Queue()
        self.responses: queue.Queue[Message] = queue.Queue()
        self.call_id = secrets.token_hex(8) + "@" + self.local
        self.tag = secrets.token_hex(4)
        self.cseq = 0
        self.registered_as: tuple[str, str, str] | None = None
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def __enter__(self) -> SipLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._reader.join(timeout=2)
        self.sock.close()

    def register(self, user: str, auth_user: str, password: str, expires: int = 120) -> int:
        self.registered_as = (user, auth_user, password)
        response = self._request("REGISTER", user, expires, None)
        tries = 0
        while response is not None and response.status in (401, 407) and tries < 2:
            tries += 1
            challenge = next((c for c in response.all("WWW-Authenticate") + response.all("Proxy-Authenticate")
                              if "md5" in c.lower() or "algorithm" not in c.lower()), "")
            response = self._request("REGISTER", user, expires, self._authorization(challenge, auth_user, password))
        return response.status if response is not None else 0

    def unregister(self) -> None:
        if self.registered_as:
            self.register(*self.registered_as, expires=0)

    def wait_request(self, method: str, timeout: float, unless_event: str = "") -> Message | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                message = self.requests.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if message.method == method and not (unless_event and message.header("Event") == unless_event):
                return message
        return None

    def _request(self, method: str, user: str, expires: int, authorization: str | None) -> Message | None:
        self.cseq += 1
        uri = f"sip:{self.server}:{self.port}"
        lines = [
            f"{method} {uri} SIP/2.0",
            f"Via: SIP/2.0/UDP {self.local}:{self.local_port};branch=z9hG4bK{secrets.token_hex(8)};rport",
            "Max-Forwards: 70",
            f"From: <sip:{user}@{self.server}>;tag={self.tag}",
            f"To: <sip:{user}@{self.server}>",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} {method}",
            f"Contact: <sip:{user}@{self.local}:{self.local_port}>",
            f"Expires: {expires}",
            "User-Agent: pbxctl-lab-test",
        ]
        if authorization:
            lines.append(f"Authorization: {authorization}")
        lines.append("Content-Length: 0")
        self.sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), (self.server, self.port))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                response = self.responses.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if response.header("Call-ID") == self.call_id and response.header("CSeq") == f"{self.cseq} {method}" \
                    and response.status >= 200:
                return response
        return None

    def _authorization(self, challenge: str, auth_user: str, password: str) -> str:
        params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge.partition(" ")[2]))
        uri = f"sip:{self.server}:{self.port}"
        ha1 = _md5(f"{auth_user}:{params['realm']}:{password}")
        ha2 = _md5(f"REGISTER:{uri}")
        fields = {"username": auth_user, "realm": params["realm"], "nonce": params["nonce"], "uri": uri}
        if "auth" in params.get("qop", "").split(","):
            cnonce, nc = secrets.token_hex(8), "00000001"
            fields["response"] = _md5(f"{ha1}:{params['nonce']}:{nc}:{cnonce}:auth:{ha2}")
            quoted = ", ".join(f'{k}="{v}"' for k, v in fields.items())
            text = f"Digest {quoted}, algorithm=MD5, qop=auth, nc={nc}, cnonce=\"{cnonce}\""
        else:
            fields["response"] = _md5(f"{ha1}:{params['nonce']}:{ha2}")
            text = "Digest " + ", ".join(f'{k}="{v}"' for k, v in fields.items()) + ", algorithm=MD5"
        if "opaque" in params:
            text += f', opaque="{params["opaque"]}"'
        return text

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                raw, source = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            if not raw.strip():
                continue  # keep-alive
            message = Message(raw)
            if not message.is_request:
                self.responses.put(message)
                continue
            status = self._judge(message)
            self._answer(message, source, status)
            if status == 200:
                self.requests.put(message)

    def _judge(self, request: Message) -> int:
        """200, or as a phone with Auth_Resync-Reboot: 401 to a NOTIFY without a valid digest of its own login."""
        if request.method != "NOTIFY" or not self.challenge or request.header("Event") == "message-summary":
            return 200
        given = request.header("Authorization")
        if not given:
            self.challenged += 1
            return 401
        params = dict(re.findall(r'(\w+)="?([^",]*)"?', given.partition(" ")[2]))
        user, password = self.challenge
        ha1 = _md5(f"{user}:{REALM}:{password}")
        expected = _md5(f"{ha1}:{self.nonce}:{_md5('NOTIFY:' + params.get('uri', ''))}")
        ok = params.get("username") == user and params.get("nonce") == self.nonce and params.get("response") == expected
        return 200 if ok else 403

    def _answer(self, request: Message, source: tuple[str, int], status: int = 200) -> None:
        to = request.header("To")
        if ";tag=" not in to:
            to += f";tag={self.tag}"
        lines = [{200: "SIP/2.0 200 OK", 401: "SIP/2.0 401 Unauthorized", 403: "SIP/2.0 403 Forbidden"}[status]]
        if status == 401:
            lines.append(f'WWW-Authenticate: Digest realm="{REALM}", nonce="{self.nonce}", algorithm=MD5')
        lines += [f"Via: {via}" for via in request.all("Via")]
        lines += [f"From: {request.header('From')}", f"To: {to}", f"Call-ID: {request.header('Call-ID')}",
                  f"CSeq: {request.header('CSeq')}", "Content-Length: 0"]
        self.sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), source)


REALM = "pbxctl-phone"  # the realm a phone names in its challenge


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # SIP digest is MD5 by definition

