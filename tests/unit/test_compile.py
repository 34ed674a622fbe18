"""Compile: deterministic output, generated secrets kept apart and stable, vault, missing secrets, retarget."""

import json
import os
import stat
from pathlib import Path

import pytest
import yaml
from ansible.constants import DEFAULT_VAULT_ID_MATCH
from ansible.parsing.vault import VaultLib, VaultSecret, is_encrypted

from pbxctl.cli import app
from pbxctl.compile import compile_site, role_vars_text, secrets_path
from pbxctl.lab.retarget import Retarget, retarget
from pbxctl.load import load_site
from pbxctl.problems import SiteInvalid
from pbxctl.secrets import Secrets, missing_external, read_secrets

from .conftest import copy_example

PLAIN_FILES = ("inventory.yml", "vars.yml", "secrets.yml")


def set_external_secrets(runner, site_file: Path, vault: Path | None = None) -> dict[str, str]:
    """Provider and router passwords, stored the way a user does: `pbxctl secrets set` reading stdin."""
    values = {}
    for key in missing_external(load_site(site_file), Secrets()):
        values[key] = f"given-{key.replace('.', '-')}"
        args = ["secrets", "set", str(site_file), key] + (["--vault-password-file", str(vault)] if vault else [])
        result = runner.invoke(app, args, input=values[key] + "\n")
        assert result.exit_code == 0, result.output
    return values


@pytest.fixture
def office(tmp_path, runner) -> Path:
    site_file = copy_example("example-office", tmp_path)
    set_external_secrets(runner, site_file)
    return site_file


@pytest.fixture
def vault_file(tmp_path) -> Path:
    path = tmp_path / "vault-pass"
    path.write_text("correct horse battery staple\n")
    return path


def vault_text(path: Path, password_file: Path) -> str:
    vault = VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(password_file.read_bytes().strip()))])
    return vault.decrypt(path.read_bytes()).decode()


def test_compile_is_deterministic(office, tmp_path):
    compile_site(office, tmp_path / "one")
    compile_site(office, tmp_path / "two")
    for name in PLAIN_FILES:
        first, second = (tmp_path / "one" / name).read_bytes(), (tmp_path / "two" / name).read_bytes()
        assert first == second, name
    assert (tmp_path / "one" / "inventory.yml").read_bytes().startswith(b"---\n")


# what YAML would read differently from JSON if written as it is: keywords and numbers of YAML 1.1, characters
# outside YAML's printable set or folded as line breaks, and the usual quoting troubles
AWKWARD = ["yes", "No", "on", "~", "null", "", "010", "0x1F", "1e3", "1_000", "12:30", "2026-12-01", "+7495",
           "a: b", "#x", "- x", "*alias", "&anchor", "!tag", "%", "@", "`", "'", '"', "\\", "\t", " lead", "trail ",
           "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "Приёмная", "\x85", "\u2028",
           "\u2029", "\x7f", "\x9f", "\ufeff", "\U0001F600", "\x00", "\x1b"]


def test_role_variables_are_json_a_yaml_reader_reads_the_same():
    """vars.yml and secrets.yml are written as JSON (Ansible reads them with json.loads first): PyYAML, with or
    without libyaml, and Ansible's own loader get exactly the values written."""
    from ansible.parsing.utils.yaml import from_yaml

    data = {"strings": AWKWARD, "keyed": {value: index for index, value in enumerate(AWKWARD)},
            "others": [0, -1, 10**20, True, False, None, 0.5, [], {}, [[{"deep": ["x"]}]]]}
    text = role_vars_text(data)
    assert json.loads(text) == data
    assert yaml.safe_load(text) == data
    assert yaml.load(text, Loader=yaml.CSafeLoader) == data
    assert from_yaml(text) == data


def test_compiled_role_variables_read_the_same_as_json_and_yaml(tmp_path, runner):
    for name in ("example-office", "example-branches", "example-contact-centre"):
        site_file = copy_example(name, tmp_path / name)
        set_external_secrets(runner, site_file)
        compiled = compile_site(site_file, tmp_path / name / "out")
        for file in ("vars.yml", "secrets.yml"):
            text = (compiled.out_dir / file).read_text(encoding="utf-8")
            assert yaml.safe_load(text) == json.loads(text), f"{name}: {file}"


def test_generated_secrets_are_kept_private_long_and_stable(office, tmp_path):
    assert set(yaml.safe_load(secrets_path(office).read_text())) == {"trunks", "router"}
    compile_site(office, tmp_path / "one")
    site_secrets = secrets_path(office)
    assert stat.S_IMODE(site_secrets.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "one" / "secrets.yml").stat().st_mode) == 0o600
    first = yaml.safe_load(site_secrets.read_text())
    site = load_site(office)
    passwords = {e.number: first["extensions"][e.number]["password"] for e in site.extensions}
    assert len(passwords) == 20
    assert all(len(p) >= 32 for p in passwords.values())
    assert len(set(passwords.values())) == len(passwords)
    # the provider passwords given by the user are still there
    assert first["trunks"]["city"]["password"] == "given-trunks-city-password"
    compile_site(office, tmp_path / "two")
    assert yaml.safe_load(site_secrets.read_text()) == first
    role = yaml.safe_load((tmp_path / "two" / "secrets.yml").read_text())
    assert role["asterisk__extension_secrets"]["101"]["password"] == passwords["101"]
    assert role["asterisk__trunk_secrets"]["city"] == "given-trunks-city-password"


def test_no_secret_reaches_vars_or_inventory(office, tmp_path):
    compile_site(office, tmp_path / "out")
    secrets = yaml.safe_load(secrets_path(office).read_text())
    values = [v for section in secrets.values() for entry in section.values() for v in entry.values()
              if len(str(v)) > 6]  # voicemail PINs are short enough to appear by chance
    assert len(values) > 40
    for name in ("vars.yml", "inventory.yml"):
        text = (tmp_path / "out" / name).read_text()
        leaked = [v for v in values if v in text]
        assert not leaked, f"{name} carries secrets"


def test_vault_encrypts_site_and_role_secrets(office, tmp_path, vault_file):
    compiled = compile_site(office, tmp_path / "out", vault_file)
    site_secrets = secrets_path(office)
    assert is_encrypted(site_secrets.read_bytes())
    assert site_secrets.read_bytes().startswith(b"$ANSIBLE_VAULT;1.1;AES256")
    plain = yaml.safe_load(vault_text(site_secrets, vault_file))
    password = plain["extensions"]["101"]["password"]
    assert len(password) >= 32
    role_file = compiled.out_dir / "secrets.yml"
    assert is_encrypted(role_file.read_bytes())
    assert stat.S_IMODE(role_file.stat().st_mode) == 0o600
    assert yaml.safe_load(vault_text(role_file, vault_file))["asterisk__extension_secrets"]["101"]["password"] == (
        password)
    for path in (site_secrets, role_file, compiled.out_dir / "vars.yml", compiled.out_dir / "inventory.yml"):
        text = path.read_text()
        assert password not in text and "given-trunks-city-password" not in text, path.name
    # a second compile decrypts, keeps the secrets and leaves the file encrypted
    compile_site(office, tmp_path / "again", vault_file)
    assert yaml.safe_load(vault_text(site_secrets, vault_file)) == plain


def test_vault_password_from_environment(office, tmp_path, vault_file, monkeypatch):
    monkeypatch.setenv("PBXCTL_VAULT_PASSWORD_FILE", str(vault_file))
    compile_site(office, tmp_path / "out")
    assert is_encrypted(secrets_path(office).read_bytes())


def test_ansible_vault_cli_decrypts(office, tmp_path, vault_file):
    import subprocess
    import sys

    compile_site(office, tmp_path / "out", vault_file)
    tool = Path(sys.executable).with_name("ansible-vault")
    if not tool.exists():
        pytest.skip("ansible-vault is not installed beside this Python")
    shown = subprocess.run([str(tool), "view", "--vault-password-file", str(vault_file), str(secrets_path(office))],
                           capture_output=True, text=True, check=True)
    assert yaml.safe_load(shown.stdout)["trunks"]["city"]["password"] == "given-trunks-city-password"


def test_plain_secrets_are_encrypted_once_a_vault_password_is_given(office, tmp_path, vault_file):
    compile_site(office, tmp_path / "plain")  # every secret generated: nothing new to add below
    before = yaml.safe_load(secrets_path(office).read_text())
    compile_site(office, tmp_path / "vaulted", vault_file)
    assert is_encrypted(secrets_path(office).read_bytes())
    assert yaml.safe_load(vault_text(secrets_path(office), vault_file)) == before


def test_vaulted_secrets_without_password(office, tmp_path, vault_file, runner):
    compile_site(office, tmp_path / "out", vault_file)
    with pytest.raises(SiteInvalid) as raised:
        compile_site(office, tmp_path / "again")
    assert raised.value.lines == [f"{secrets_path(office)}: is vault-encrypted; give --vault-password-file or set "
                                  "PBXCTL_VAULT_PASSWORD_FILE"]
    assert not (tmp_path / "again").exists()
    result = runner.invoke(app, ["compile", str(office), "-o", str(tmp_path / "cli")])
    assert result.exit_code == 3 and "is vault-encrypted" in result.output and "Traceback" not in result.output


def test_vaulted_secrets_with_wrong_password(office, tmp_path, vault_file):
    compile_site(office, tmp_path / "out", vault_file)
    wrong = tmp_path / "wrong-pass"
    wrong.write_text("not it\n")
    with pytest.raises(SiteInvalid, match="cannot decrypt with the password in"):
        read_secrets(secrets_path(office), wrong)


def test_broken_secrets_file(tmp_path):
    path = tmp_path / "secrets.yml"
    path.write_text("trunks:\n  city: {password: [unclosed\n")
    with pytest.raises(SiteInvalid, match=r"secrets.yml:\d+:\d+: YAML syntax"):
        read_secrets(path, None)
    path.write_text("- a list\n")
    with pytest.raises(SiteInvalid, match="secrets file must be a mapping"):
        read_secrets(path, None)


def test_missing_trunk_password_names_the_key_and_writes_nothing(tmp_path, runner):
    site_file = copy_example("example-office", tmp_path)
    out = tmp_path / "out"
    with pytest.raises(SiteInvalid) as raised:
        compile_site(site_file, out)
    lines = raised.value.lines
    assert f"{secrets_path(site_file)}: trunks.calltrack.password: missing; add it (or run `pbxctl secrets set " \
           f"{site_file} trunks.calltrack.password`)" in lines
    assert any("router.api.password" in line for line in lines)
    assert len(lines) == 6  # five providers and the router
    assert not out.exists()
    result = runner.invoke(app, ["compile", str(site_file), "-o", str(out)])
    assert result.exit_code == 3 and "trunks.cheap.password: missing" in result.output
    assert not out.exists()


def test_secrets_set_refuses_empty_value_and_bad_key(office, runner):
    result = runner.invoke(app, ["secrets", "set", str(office), "trunks.city.password"], input="\n")
    assert result.exit_code == 3 and "empty value refused" in result.output
    result = runner.invoke(app, ["secrets", "set", str(office), "trunks.city"], input="x\n")
    assert result.exit_code == 3 and "expected section.name.item" in result.output


LAB = Retarget(pbx_host="10.77.0.2", ssh_private_key="/tmp/lab/id_ed25519", lab_network="10.77.0.0/24",
               carrier_host="10.77.0.3", apt_proxy="http://10.77.0.1:3142", router_host="127.0.0.1",
               router_port=18728)


def _leaves(data, path=()):
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(data, list) and data and all(isinstance(i, dict) for i in data):
        for index, value in enumerate(data):
            yield from _leaves(value, (*path, index))
    else:
        yield path, data


def _generic(path: tuple) -> tuple:
    return tuple("*" if isinstance(p, int) else p for p in path)


def test_retarget_changes_only_hosts_and_proxy():
    site = load_site(Path(__file__).resolve().parents[2] / "inventories/example-office/site.yml")
    before = site.model_dump(mode="json")
    moved = retarget(site, LAB)
    assert site.model_dump(mode="json") == before, "retarget must not change the site it was given"
    after = dict(_leaves(moved.model_dump(mode="json")))
    changed = {_generic(path) for path, value in _leaves(before) if after.get(path) != value}
    allowed = {("pbx", "host"), ("pbx", "address"), ("pbx", "public_address"), ("pbx", "local_networks"),
               ("site", "apt_proxy"), ("provisioning", "server"), ("trunks", "*", "host"), ("trunks", "*", "port"),
               ("trunks", "*", "transport"), ("trunks", "*", "match"), ("router", "host"), ("router", "api_port"),
               ("router", "tls"), ("security", "admin_networks")}
    assert changed <= allowed, changed - allowed
    assert {("pbx", "host"), ("trunks", "*", "host"), ("router", "host")} <= changed
    assert moved.pbx.host == "10.77.0.2" and str(moved.pbx.address) == "10.77.0.2"
    assert all(t.host == "10.77.0.3" for t in moved.trunks)
    assert (moved.router.host, moved.router.api_port) == ("127.0.0.1", 18728)
    assert str(moved.site.apt_proxy) == "http://10.77.0.1:3142/"
    assert "10.77.0.0/24" in [str(n) for n in moved.security.admin_networks]  # the control host keeps SSH


def test_retarget_without_lab_router_drops_the_router():
    site = load_site(Path(__file__).resolve().parents[2] / "inventories/example-office/site.yml")
    moved = retarget(site, Retarget(pbx_host="10.77.0.2", ssh_private_key="k", lab_network="10.77.0.0/24"))
    assert moved.router is None and site.router is not None
    assert [t.host for t in moved.trunks] == [t.host for t in site.trunks]


def test_lab_compile_invents_provider_passwords_only_for_the_lab(tmp_path, runner):
    site_file = copy_example("example-office", tmp_path)
    result = runner.invoke(app, ["secrets", "set", str(site_file), "router.api.password"], input="lab-router\n")
    assert result.exit_code == 0, result.output
    compiled = compile_site(site_file, tmp_path / "lab", overlay=LAB)
    inventory = yaml.safe_load((compiled.out_dir / "inventory.yml").read_text())
    pbx = inventory["all"]["children"]["pbx"]["hosts"]["example-office-pbx"]
    assert pbx["ansible_host"] == "10.77.0.2"
    assert pbx["ansible_ssh_private_key_file"] == "/tmp/lab/id_ed25519"
    kept = yaml.safe_load(secrets_path(site_file).read_text())
    assert "trunks" not in kept and set(kept["lab_trunks"]) == {"calltrack", "city", "city2", "regional", "cheap"}
    # a real compile still asks for the real passwords
    with pytest.raises(SiteInvalid, match="trunks.city.password: missing"):
        compile_site(site_file, tmp_path / "real")


def test_output_directory_is_private(office, tmp_path):
    compiled = compile_site(office, tmp_path / "out")
    assert stat.S_IMODE(os.stat(compiled.out_dir).st_mode) == 0o700
    assert {p.name for p in compiled.files} >= set(PLAIN_FILES)


# --- the resolved values: one answer for every consumer ---

RESOLVE_SITE = """\
site: {name: resolved}
pbx: {host: pbx.office.example, local_networks: [192.168.10.0/24]}
router: {host: 192.168.10.1, lan_interface: bridge, wan_interface: ether1, upload_kbps: 10000,
         download_kbps: 50000}
trunks:
  - {name: named, type: sip_register, host: sip.provider.example, username: u}
  - {name: addressed, type: sip_register, host: 198.51.100.7, username: u}
  - {name: matched, type: sip_ip, host: sip.other.example, match: [203.0.113.0/28]}
"""


def test_resolved_values_and_their_defaults(tmp_path):
    from pbxctl import resolve

    site_file = tmp_path / "site.yml"
    site_file.write_text(RESOLVE_SITE)
    site = load_site(site_file)
    assert resolve.pbx_address(site) == "pbx.office.example"  # no address: the host
    assert resolve.provisioning_server(site) == "pbx.office.example"
    site.provisioning.https_port = 443
    assert resolve.https_base(site) == "https://pbx.office.example"  # the default port is not written
    site.provisioning.https_port = 8443
    assert resolve.https_base(site) == resolve.first_fetch_base(site) == "https://pbx.office.example:8443"
    assert resolve.router_api_port(site) == 8729  # TLS by default
    site.router.tls = False
    assert resolve.router_api_port(site) == 8728
    site.router.api_port = 18728
    assert resolve.router_api_port(site) == 18728
    assert [resolve.trunk_networks(t) for t in site.trunks] == [[], ["198.51.100.7/32"], ["203.0.113.0/28"]]
    assert resolve.trunk_hosts(site) == ["198.51.100.7", "sip.other.example", "sip.provider.example"]
    assert resolve.match_networks(site) == ["203.0.113.0/28"]
    site.pbx.address = "192.168.10.5"
    assert resolve.pbx_address(site) == resolve.router_pbx_address(site) == "192.168.10.5"
    assert resolve.tls_names(site) == ["192.168.10.5", "pbx.office.example"]


def test_every_role_reads_the_same_resolved_values(tmp_path, runner):
    """The PBX's address, the provisioning server and the trunk lists are the same wherever a role gets them."""
    site_file = copy_example("example-office", tmp_path)
    set_external_secrets(runner, site_file)
    compiled = compile_site(site_file, tmp_path / "out")
    variables = yaml.safe_load((compiled.out_dir / "vars.yml").read_text())
    assert variables["provisioning__server"] == variables["routeros__provisioning_server"]
    assert variables["security__trunk_hosts"] == variables["routeros__trunk_hosts"]
    assert variables["security__trunk_networks"] == variables["routeros__trunk_networks"]
    assert variables["routeros__owned"] == "pbxctl:"
    assert all(e["comment"].startswith(variables["routeros__owned"])
               for s in variables["routeros__sections"] for e in s["data"] if "comment" in e)


def test_generated_secrets_are_uniform_over_their_alphabet():
    """Each character of a generated password or PIN is drawn uniformly (no modulo bias towards the first
    letters): over 200,000 characters, every one of the 62 comes within 10% of its share."""
    from collections import Counter

    from pbxctl.secrets import ALPHABET, _pin, _token

    tokens = [_token(40) for _ in range(5000)]
    assert {len(t) for t in tokens} == {40} and len(set(tokens)) == len(tokens)
    counts = Counter("".join(tokens))
    assert set(counts) == set(ALPHABET)
    share = 200_000 / len(ALPHABET)
    assert all(abs(n - share) < share / 10 for n in counts.values()), counts
    pins = Counter("".join(_pin() for _ in range(20_000)))
    assert set(pins) == set("0123456789") and all(abs(n - 12_000) < 1_200 for n in pins.values())


def test_fast_loader_gives_every_scalar_the_safe_loaders_type():
    """pbxctl's loader takes a plain scalar for a string when no implicit tag can start with its first character:
    every plain, quoted and tagged form here reads the same as with yaml.SafeLoader."""
    from pbxctl.load import FastLoader

    plain = ["yes", "No", "on", "OFF", "y", "~", "null", "Null", "", "010", "0o7", "0x1F", "0b11", "1e3", "1.5",
             ".5", "-1", "+7", "1_000", "12:30", "190:20:30", "2026-12-01", "2026-12-01 10:00:00", ".inf", "-.inf",
             ".nan", "true", "False", "abc", "user@example.ru", "00:0e:08:00:00:01", "Приёмная", "_x", "/x"]
    text = "".join(f"- {value}\n- '{value}'\n- \"{value}\"\n" for value in plain if value)
    text += "- !!str 10\n- !!int '10'\n- ? a\n  : b\n- {<<: {x: 1}, y: 2}\n- \n"
    assert repr(yaml.load(text, Loader=FastLoader)) == repr(yaml.load(text, Loader=yaml.SafeLoader))
