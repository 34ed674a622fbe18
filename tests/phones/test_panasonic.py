"""Every Panasonic file keeps the Standard Format rules and uses known parameter names."""

import re

import pytest

from pbxctl.phones import panasonic

from .helpers import all_files, render_case

PANASONIC = [f for f in all_files(".cfg") if f[1].startswith(("Config", "KX-"))]


@pytest.mark.parametrize(("case", "name", "data"), PANASONIC, ids=[f"{c}/{n}" for c, n, _ in PANASONIC])
def test_standard_format_rules(case, name, data):
    assert data.startswith(b"# Panasonic SIP Phone Standard Format File #")
    assert panasonic.check(data) == []
    assert b"\n" not in data.replace(b"\r\n", b""), "every line ends with CR LF"
    assert data.endswith(b"\r\n\r\n"), "ends with an empty line"


def test_header_is_the_44_byte_sequence():
    assert len(panasonic.HEADER.encode()) == 44


@pytest.mark.parametrize(("data", "problem"), [
    (b'KEY="v"\r\n\r\n', "first line"),
    (b'# Panasonic SIP Phone Standard Format File #\r\nKEY="v"\r\n', "empty line"),
    (b'# Panasonic SIP Phone Standard Format File #\r\nKEY = "v"\r\n\r\n', 'NAME="value"'),
    (b'# Panasonic SIP Phone Standard Format File #\nKEY="v"\r\n\r\n', "bare CR or LF"),
    (b'# Panasonic SIP Phone Standard Format File #\r\nKEY="' + b"x" * 600 + b'"\r\n\r\n', "over 537"),
    (b'# Panasonic SIP Phone Standard Format File #\r\n' + b"A" * 33 + b'="v"\r\n\r\n', "name over 32"),
    (b'# Panasonic SIP Phone Standard Format File #\r\n' + b'K="v"\r\n' * 20000 + b"\r\n", "over 122880"),
])
def test_checker_catches_each_broken_rule(data, problem):
    assert any(problem in p for p in panasonic.check(data))


def test_values_lose_double_quotes_and_control_characters():
    assert panasonic.value('Boris "Bob"\tIvanov\n') == "Boris 'Bob'Ivanov"


def test_too_long_value_is_refused_not_truncated():
    with pytest.raises(ValueError, match="breaks the format"):
        panasonic.standard_format(panasonic.FIRST_LINE + '\nDISPLAY_NAME_1="' + "я" * 300 + '"\n')


def test_device_file_points_back_with_credentials_and_resyncs():
    files = render_case("office")
    device = files["Config080023A10004.cfg"].decode()
    assert re.search(r'CFG_STANDARD_FILE_PATH="https://080023a10004:[A-Za-z0-9]{24}@192\.168\.10\.5/Config\{MAC\}'
                     r'\.cfg"', device)
    product = files["KX-HDV130.cfg"].decode()
    assert 'CFG_CYCLIC="Y"' in product and 'CFG_CYCLIC_INTVL="60"' in product
    assert 'CFG_RESYNC_FROM_SIP="check-sync"' in product
    assert "@" not in product and "PASS" not in product, "the model file is shared: no secrets"


def _params(text: str) -> dict[str, str]:
    return dict(re.findall(r'^([A-Z0-9_]+)="([^"]*)"\r$', text, re.MULTILINE))


def test_flex_buttons_and_russian():
    device = _params(render_case("office")["Config080023A10004.cfg"].decode())
    assert device["FLEX_BUTTON_FACILITY_ACT2"] == "X_PANASONIC_IPTEL_BLF"
    assert device["FLEX_BUTTON_FACILITY_ARG2"] == "100"
    # a one-touch key's number goes in QUICK_DIAL; its argument stays empty
    assert device["FLEX_BUTTON_FACILITY_ACT3"] == "X_PANASONIC_IPTEL_ONETOUCH"
    assert (device["FLEX_BUTTON_QUICK_DIAL3"], device["FLEX_BUTTON_FACILITY_ARG3"]) == ("+74952220000", "")
    assert device["DEFAULT_LANGUAGE"] == "ru" and device["DISPLAY_NAME_2"] == "Bob"
    assert "WEB_LANGUAGE" not in device


def test_kx_ut_keeps_its_line_keys_before_blf():
    device = _params(render_case("berlin-tftp")["Config0080F0D20002.cfg"].decode())
    # the first keys stay DN (line) keys: a KX-UT dials only from one; the site's keys follow
    assert [device[f"FLEX_BUTTON_FACILITY_ACT{n}"] for n in (1, 2, 3, 4)] == [
        "X_PANASONIC_IPTEL_DN", "X_PANASONIC_IPTEL_DN", "X_PANASONIC_IPTEL_BLF", "X_PANASONIC_IPTEL_ONETOUCH"]
    assert device["FLEX_BUTTON_FACILITY_ARG3"] == "200"
    assert (device["FIRM_VERSION"], device["FIRM_UPGRADE_AUTO"]) == ("01.133", "Y")


def test_tgp600_handsets_follow_the_site():
    base = _params(render_case("office")["Config080023A10005.cfg"].decode())
    # handset 1: lines 111, 113 (calls on 113); handset 2: 112; handset 3: all three (calls on 112)
    assert [base[f"INCOMING_CALL_GROUP_{n}"] for n in (1, 2, 3)] == ["1,3", "2,3", "1,3"]
    assert [base[f"OUTGOING_CALL_LINE_HS{n}"] for n in (1, 2, 3)] == ["1,3", "2", "1,2,3"]
    assert [base[f"DEFAULT_LINE_SELECT_HS{n}"] for n in (1, 2, 3)] == ["3", "2", "2"]
