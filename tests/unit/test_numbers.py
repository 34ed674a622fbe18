"""Number plans: every usual way of writing a number becomes one E.164 form, and goes back per trunk."""

import pytest

from pbxctl.numbers import NumberFormat, format_number, to_e164


@pytest.mark.parametrize("written", [
    "+74951234567",
    "+7 (495) 123-45-67",
    "84951234567",
    "8 (495) 123-45-67",
    "8-495-123-45-67",
    "74951234567",
    "4951234567",
    "495.123.45.67",
])
def test_russian_forms_normalise_to_e164(written):
    assert to_e164(written, "RU") == "+74951234567"


@pytest.mark.parametrize(("written", "e164"), [
    ("8-800-555-35-35", "+78005553535"),
    ("89161234567", "+79161234567"),
    ("810375291234567", "+375291234567"),  # dialled abroad from Russia: 810 + country code
    ("+375 29 123-45-67", "+375291234567"),
    ("+4930123456", "+4930123456"),  # German numbers vary in length
])
def test_other_russian_cases(written, e164):
    assert to_e164(written, "RU") == e164


@pytest.mark.parametrize(("written", "country", "e164"), [
    ("80291234567", "BY", "+375291234567"),
    ("291234567", "BY", "+375291234567"),
    ("0441234567", "UA", "+380441234567"),
    ("02079460000", "GB", "+442079460000"),
    ("14155550123", "US", "+14155550123"),
    ("4155550123", "US", "+14155550123"),
    ("01144207946000", "US", "+44207946000"),
])
def test_other_countries(written, country, e164):
    assert to_e164(written, country) == e164


@pytest.mark.parametrize("written", [
    "2220000",  # a local number without its area code
    "+7495123",  # too short for +7
    "+749512345678",  # too long for +7
    "+0123456789",  # no country code starts with 0
    "84951234567x",
    "",
    "phone",
])
def test_unconvertible_numbers_are_refused(written):
    with pytest.raises(ValueError, match="is not a valid phone number for RU"):
        to_e164(written, "RU")


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


@pytest.mark.parametrize("fmt", list(NumberFormat))
@pytest.mark.parametrize("e164", ["+74951234567", "+79161234567", "+78005553535", "+375291234567",
                                  "+4930123456", "+14155550123"])
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
