"""The rendered pjsip.conf against the option set of each Asterisk release pbxctl installs: Ubuntu 22.04's 18.10,
Ubuntu 24.04's 20.6 (both from universe, which the lab cannot run) and the 22.10.1 of Debian sid and of the build.

The option sets are data (tests/data/asterisk_options/pjsip.yml), read from Asterisk's own XML documentation:
every option carries the releases that introduced it. Run this file with a Debian orig tarball to regenerate it.
"""

import re
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from pbxctl.compile import site_vars
from pbxctl.load import load_site

from .test_guard import render  # the role's templates rendered with Ansible's filters

ROOT = Path(__file__).resolve().parents[2]
OPTIONS = ROOT / "tests/data/asterisk_options/pjsip.yml"
# the release each platform installs: Ubuntu's universe packages (packages.ubuntu.com, jammy and noble), and ours
RELEASES = {"ubuntu-22.04": "18.10.0", "ubuntu-24.04": "20.6.0", "debian-sid": "22.10.1", "build": "22.10.1"}
# the example sites, the encrypted links (TLS transport, SRTP, NAT, a TLS trunk) and the office pair (SIP and RTP on
# a virtual address) no example uses yet
SITES = [*sorted((ROOT / "inventories").glob("*/site.yml")), ROOT / "tests/data/encrypted_links.yml",
         ROOT / "tests/data/office_pair.yml"]
# the type= of a pjsip.conf section and the module documenting its options
TYPES = {"endpoint": "res_pjsip", "aor": "res_pjsip", "auth": "res_pjsip", "transport": "res_pjsip",
         "global": "res_pjsip", "system": "res_pjsip", "contact": "res_pjsip", "domain_alias": "res_pjsip",
         "identify": "res_pjsip_endpoint_identifier_ip", "registration": "res_pjsip_outbound_registration",
         "acl": "res_pjsip_acl", "outbound-publish": "res_pjsip_outbound_publish"}


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def exists_in(since: list[str], release: str) -> bool:
    """An option listed as introduced in 18.8.0 and 20.0.0 exists in 18.10 and 20.6; one introduced only in 21.0.0
    and 20.5.0 exists in 20.6 but not 18.10 (its branch never got it)."""
    wanted = version(release)
    introduced = [version(v) for v in since]
    same_branch = [v for v in introduced if v[0] == wanted[0]]
    if same_branch:
        return min(same_branch) <= wanted
    return all(v[0] < wanted[0] for v in introduced)


@pytest.fixture(scope="module")
def option_sets() -> dict:
    sets = yaml.safe_load(OPTIONS.read_text())
    for (module, kind, option), since in CORRECTED.items():
        sets[module][kind][option] = since
    return sets


# <since> tags of Asterisk's XML that date a later change, not the option, with the evidence that it is older.
# endpoint media_address: Asterisk 16's AMI EndpointDetail event reports it (MediaAddress, docs.asterisk.org
# Asterisk_16_Documentation/API_Documentation/AMI_Events/EndpointDetail), and bind_rtp_to_media_address, since
# 13.8.0, binds RTP to it; the XML says 18.22.0/20.7.0/21.2.0.
CORRECTED = {("res_pjsip", "endpoint", "media_address"): ["16.0.0"]}  # at least as old as 16, as shown


def rendered_pjsip(site: Path) -> str:
    variables = site_vars(load_site(site))
    # stand-ins for what secrets.yml holds: only option names are judged here
    stand_in = {"username": "u", "password": "p", "voicemail_pin": "1"}
    variables |= {
        "asterisk__extension_secrets": {e["number"]: stand_in for e in variables["asterisk__extensions"]},
        "asterisk__trunk_secrets": {t["name"]: "p" for t in variables["asterisk__trunks"]},
        "asterisk__trunk_endpoints": {t["name"]: f"trunk-{t['name']}-x" for t in variables["asterisk__trunks"]},
    }
    return render_pjsip(variables)


def render_pjsip(variables: dict) -> str:
    """pjsip.conf with the provider registrations it includes, as Asterisk reads them."""
    return "\n".join(render(f"asterisk/templates/etc/asterisk/{name}.j2", variables)
                     for name in ("pjsip.conf", "pjsip_registrations.conf"))


def sections(text: str) -> list[tuple[str, dict[str, str]]]:
    """(section name, {option: value}) of an Asterisk config file; templates ([name](!)) merged into users."""
    found, templates, current = [], {}, None
    for line in text.splitlines():
        line = line.split(";", 1)[0].strip()
        header = re.fullmatch(r"\[([^\]]+)\](?:\(([^)]*)\))?", line)
        if header:
            options: dict[str, str] = {}
            for parent in (header.group(2) or "").split(","):
                options.update(templates.get(parent.strip(), {}))
            current = (header.group(1), options)
            if "!" in (header.group(2) or ""):
                templates[header.group(1)] = options
            else:
                found.append(current)
        elif current and "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            current[1][key.rstrip(">")] = value
    return found


@pytest.mark.parametrize("platform", sorted(RELEASES))
@pytest.mark.parametrize("site", SITES, ids=lambda path: path.parent.name if path.name == "site.yml" else path.stem)
def test_every_rendered_option_exists_in_the_release(site, platform, option_sets):
    release = RELEASES[platform]
    problems = []
    for name, options in sections(rendered_pjsip(site)):
        kind = options.get("type")
        assert kind in TYPES, f"[{name}] has type={kind}, which no option set describes"
        known = option_sets[TYPES[kind]][kind]
        for option in options:
            if option not in known:
                problems.append(f"[{name}] {option}: not a {kind} option of any release")
            elif not exists_in(known[option], release):
                problems.append(f"[{name}] {option}: {kind} option since {known[option]}, not in {release}")
    assert not problems, f"{site.parent.name} on {platform} (Asterisk {release}):\n" + "\n".join(problems)


def test_the_release_rule_against_known_history(option_sets):
    endpoint = option_sets["res_pjsip"]["endpoint"]
    assert exists_in(endpoint["direct_media"], "18.10.0")  # an option from the start of PJSIP
    aor = option_sets["res_pjsip"]["aor"]
    assert not exists_in(aor["qualify_2xx_only"], "20.6.0") and exists_in(aor["qualify_2xx_only"], "22.10.1")
    assert exists_in(aor["remove_unavailable"], "18.10.0") and not exists_in(aor["remove_unavailable"], "18.7.0")


def extract(tarball: str) -> dict:
    """Every configOption of every configObject, with its <since> versions, from an Asterisk source tarball."""
    token = re.compile(r'<configInfo name="([^"]+)"|<configObject name="([^"]+)"|<configOption name="([^"]+)"'
                       r'|<version>([^<]+)</version>|(</since>)|(</configOption>)|(</configObject>)')
    found: dict = {}
    with tarfile.open(tarball) as archive:
        for member in archive:
            if not (member.isfile() and re.search(r"/res/res_pjsip[^/]*(/[^/]+)?\.(c|xml)$", member.name)):
                continue
            text = archive.extractfile(member).read().decode(errors="replace")
            info = obj = opt = None
            versions: list[str] = []
            for match in token.finditer(text):
                config_info, config_object, option, release, end_since, end_option, end_object = match.groups()
                if config_info:
                    info = config_info
                elif config_object:
                    obj, opt = config_object, None
                elif option:
                    opt, versions = option, []
                elif release and opt:
                    versions.append(release.strip())
                elif end_since and opt and info and obj:
                    found.setdefault(info, {}).setdefault(obj, {})[opt] = versions
                elif end_option:
                    opt = None
                elif end_object:
                    obj = None
    return found


if __name__ == "__main__":
    print(yaml.safe_dump(extract(sys.argv[1]), sort_keys=True, default_flow_style=None, width=120), end="")
