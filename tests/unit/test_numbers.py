"""Numbers: every usual way of writing a number becomes one E.164 form, checked against libphonenumber itself, and
the dialplan's rules (compiled from the same metadata) give the same answers; trunk formats go and come back."""

from pathlib import Path

import phonenumbers
import pytest
import yaml

from pbxctl.numbers import (
    COUNTRY_PLANS,
    NumberFormat,
    dialplan_inbound_to_e164,
    dialplan_plan,
    dialplan_to_e164,
    format_number,
    plan,
    region_of,
    to_e164,
)

TABLE = yaml.safe_load((Path(__file__).parents[1] / "data" / "number_cases.yml").read_text())
CASES = TABLE["cases"]
INBOUND = TABLE["inbound"]
VALID = [c for c in CASES if c["e164"]]
INVALID = [c for c in CASES if not c["e164"]]


def case_id(case: dict) -> str:
    return f"{case['country']}:{case['written']}"


def test_the_table_covers_the_countries():
    assert {"RU", "KZ", "BY", "DE", "GB", "US", "FR"} <= {c["country"] for c in VALID}
    assert {"RU", "KZ", "BY", "DE", "GB", "US", "FR"} <= {c["country"] for c in INVALID}


@pytest.mark.parametrize("case", VALID, ids=case_id)
def test_model_normalises_as_libphonenumber_does(case):
    parsed = phonenumbers.parse(case["written"], case["country"])
    assert phonenumbers.is_valid_number(parsed)
    assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == case["e164"]
    assert to_e164(case["written"], case["country"]) == case["e164"]


@pytest.mark.parametrize("case", VALID, ids=case_id)
def test_dialplan_rules_agree_with_the_model(case):
    assert dialplan_to_e164(case["written"], case["country"]) == case["e164"]


@pytest.mark.parametrize("case", INVALID, ids=case_id)
def test_numbers_not_in_use_are_refused(case):
    with pytest.raises(ValueError, match=f"is not a valid phone number for {case['country']}"):
        to_e164(case["written"], case["country"])


def inbound_id(case: dict) -> str:
    return f"{case['country']}:{case['format']}:{case['written']}"


def test_the_inbound_table_covers_every_format():
    assert {c["format"] for c in INBOUND} == {f.value for f in NumberFormat}
    assert {c["country"] for c in INBOUND} >= {"RU", "KZ", "BY", "DE", "GB", "US", "FR"}
    # the format decides: some rows read without it (the usual rules) would be another number or none
    assert [c["written"] for c in INBOUND if c["e164"] and dialplan_to_e164(c["written"], c["country"]) != c["e164"]]


@pytest.mark.parametrize("case", INBOUND, ids=inbound_id)
def test_model_reads_inbound_numbers_in_the_trunks_format(case):
    fmt = NumberFormat(case["format"])
    if case["e164"]:
        assert to_e164(case["written"], case["country"], fmt) == case["e164"]
    else:
        with pytest.raises(ValueError):
            to_e164(case["written"], case["country"], fmt)


@pytest.mark.parametrize("case", INBOUND, ids=inbound_id)
def test_dialplan_inbound_rules_agree_with_the_model(case):
    expected = case.get("dialplan", case["e164"])
    assert dialplan_inbound_to_e164(case["written"], case["country"], NumberFormat(case["format"])) == expected


@pytest.mark.parametrize("fmt", list(NumberFormat))
@pytest.mark.parametrize("e164", ["+74951234567", "+79161234567", "+78005553535", "+375291234567",
                                  "+4930123456", "+14155550123", "+77012345678"])
def test_dialplan_reads_back_what_a_trunk_of_that_format_sends(e164, fmt):
    assert dialplan_inbound_to_e164(format_number(e164, fmt, "RU"), "RU", fmt) == e164


@pytest.mark.parametrize(("written", "country", "e164"), [
    ("089 1234567", "DE", "+49891234567"),  # the trunk prefix goes, not a digit of the number
    ("0800 123456", "GB", "+44800123456"),
])
def test_issue_12_examples(written, country, e164):
    assert to_e164(written, country) == e164 == dialplan_to_e164(written, country)


def test_plans_come_from_the_metadata():
    assert plan("RU").international_prefixes == ("810",)  # 8~10: 8, dial tone, 10
    assert (plan("RU").code, plan("RU").trunk_prefix, plan("RU").nsn_length) == ("7", "8", 10)
    assert plan("BY").trunk_prefix == "80" and "8" in plan("BY").trunk_prefixes  # 8 029 123-45-67
    assert plan("US").international_prefix == "011" and plan("US").trunk_prefix == "1"
    assert plan("DE").national_lengths[0] < plan("DE").national_lengths[-1]  # German numbers vary in length
    assert "KZ" in COUNTRY_PLANS and "XX" not in COUNTRY_PLANS and len(COUNTRY_PLANS) > 200
    assert dialplan_plan("RU")["international_prefixes"] == ["810"]


@pytest.mark.parametrize(("e164", "region"), [
    ("+74951234567", "RU"), ("+77012345678", "KZ"), ("+78409123456", "RU"),  # Abkhazia sits in Russia's plan
    ("+14155550123", "US"), ("+12423570000", "BS"), ("+70000000000", None), ("+4909469890", None),
])
def test_region_by_numbering_range(e164, region):
    assert region_of(e164) == region


@pytest.mark.parametrize(("fmt", "domestic", "foreign"), [
    (NumberFormat.e164, "+74951234567", "+375291234567"),
    (NumberFormat.international, "74951234567", "375291234567"),
    (NumberFormat.national, "84951234567", "810375291234567"),
    (NumberFormat.subscriber, "4951234567", "810375291234567"),
])
def test_format_number_per_trunk(fmt, domestic, foreign):
    assert format_number("+74951234567", fmt, "RU") == domestic
    # a foreign number keeps its country code, behind the international prefix where the trunk dials
    assert format_number("+375291234567", fmt, "RU") == foreign


@pytest.mark.parametrize("country", ["RU", "BY", "DE", "GB", "FR"])
def test_national_format_is_libphonenumbers(country):
    example = phonenumbers.example_number(country)
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
    assert format_number(e164, NumberFormat.national, country) == "".join(c for c in national if c.isdigit())


@pytest.mark.parametrize("fmt", list(NumberFormat))
@pytest.mark.parametrize("e164", ["+74951234567", "+79161234567", "+78005553535", "+375291234567",
                                  "+4930123456", "+14155550123", "+77012345678"])
def test_round_trip_with_known_format(e164, fmt):
    assert to_e164(format_number(e164, fmt, "RU"), "RU", fmt) == e164


@pytest.mark.parametrize("fmt", list(NumberFormat))
def test_round_trip_of_domestic_numbers_without_format(fmt):
    # the plan alone tells every Russian form apart
    for e164 in ("+74951234567", "+79161234567", "+78005553535"):
        assert to_e164(format_number(e164, fmt, "RU"), "RU") == e164


def test_known_format_decides_ambiguous_digits():
    # ten digits: a Russian subscriber number, or a German number sent without '+'?
    assert to_e164("4930123456", "RU") == "+74930123456"
    assert to_e164("4930123456", "RU", NumberFormat.international) == "+4930123456"
    with pytest.raises(ValueError):
        to_e164("74951234567", "RU", NumberFormat.e164)  # an e164 trunk must send the '+'
