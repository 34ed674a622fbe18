"""provisioning.yealink_aes: each Yealink's own file is encrypted with its own key, entered at staging.

What a device holding its staged key reads must be exactly the plain file; what anyone else (the server's disk,
a backup, a fetch with a stolen login) gets must carry none of the device's secrets; the key itself is served
nowhere, in no file.
"""

import pytest

from pbxctl.load import load_site
from pbxctl.phones import reference, yealink
from pbxctl.phones.render import render_phones
from pbxctl.phones.staging import staging
from pbxctl.problems import SiteInvalid
from pbxctl.secrets import fill_generated, read_secrets
from pbxctl.site.catalogue import MODELS

from .helpers import CASES_DIR

CASE = CASES_DIR / "yealink-grandstream"


def _case(aes: bool):
    site = load_site(CASE / "site.yml")
    secrets = read_secrets(CASE / "secrets.yml", None)
    site.provisioning.yealink_aes = aes
    fill_generated(site, secrets)
    return site, secrets


def _yealinks(site):
    return [phone for phone in site.phones if MODELS[phone.model].vendor == "yealink"]


@pytest.fixture(scope="module")
def encrypted():
    site, secrets = _case(True)
    return site, secrets, render_phones(site, secrets)


def test_a_device_with_its_key_reads_exactly_the_plain_file(encrypted):
    site, secrets, files = encrypted
    plain = render_phones(*_case(False))
    assert _yealinks(site)
    for phone in _yealinks(site):
        name = yealink.device_name(phone.mac)
        key = secrets.get("phones", phone.mac, "aes_key")
        assert len(key) == 16
        assert files[name] != plain[name]
        assert yealink.decrypt(files[name], key) == plain[name]
        assert reference.problems("yealink", yealink.decrypt(files[name], key)) == []


def test_the_encrypted_file_carries_no_secret_and_no_key_is_served(encrypted):
    site, secrets, files = encrypted
    keys = {secrets.get("phones", phone.mac, "aes_key") for phone in _yealinks(site)}
    assert len(keys) == len(_yealinks(site)), "one key per device: one device read out opens no other"
    for phone in _yealinks(site):
        data = files[yealink.device_name(phone.mac)]
        for line in phone.lines:
            assert secrets.get("extensions", line.extension, "password").encode() not in data
        assert b"account." not in data and secrets.get("phones", phone.mac, "admin_password").encode() not in data
    assert not [name for name in files if name.endswith("_Security.enc")]
    for data in files.values():  # nowhere, in any vendor's file, is a key written
        assert not [key for key in keys if key.encode() in data]


def test_a_wrong_key_does_not_open_it(encrypted):
    site, secrets, files = encrypted
    phone = _yealinks(site)[0]
    data = files[yealink.device_name(phone.mac)]
    other = secrets.get("phones", _yealinks(site)[1].mac, "aes_key") if len(_yealinks(site)) > 1 else "x" * 16
    try:
        opened = yealink.decrypt(data, other)
    except ValueError:  # the padding does not fit: the device rejects the file
        return
    assert b"account.1.password" not in opened


def test_the_common_file_stays_plain_and_other_vendors_are_untouched(encrypted):
    site, secrets, files = encrypted
    plain = render_phones(*_case(False))
    assert files[yealink.COMMON] == plain[yealink.COMMON]
    assert files[yealink.COMMON].startswith(b"#!version:1.0.0.1\n")
    yealink_names = {yealink.device_name(phone.mac) for phone in _yealinks(site)}
    assert {n: d for n, d in files.items() if n not in yealink_names} == \
        {n: d for n, d in plain.items() if n not in yealink_names}


def test_staging_names_the_key_to_enter(encrypted):
    site, secrets, _ = encrypted
    rows = {row["mac"]: row for row in staging(site, secrets)}
    for phone in _yealinks(site):
        row = rows[phone.mac]
        assert "MAC-Oriented AES Key" in row["setting"]
        assert row["value"].endswith(" / " + secrets.get("phones", phone.mac, "aes_key"))


def test_a_missing_key_is_refused_by_name_never_by_value():
    site, secrets = _case(True)
    phone = _yealinks(site)[0]
    key = secrets.data["phones"][phone.mac].pop("aes_key")
    with pytest.raises(SiteInvalid) as raised:
        render_phones(site, secrets)
    assert f"secrets: phones.{phone.mac}.aes_key: missing" in str(raised.value)
    assert key not in str(raised.value)
