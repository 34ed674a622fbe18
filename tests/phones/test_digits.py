"""The digit map phones get comes from the site: its extensions and its country's emergency and dialling forms."""

import pytest

from pbxctl.phones import cisco
from pbxctl.phones.digits import digit_map, emergency_numbers


@pytest.mark.parametrize(("country", "numbers"), [
    ("RU", {"112", "101", "102", "103"}), ("DE", {"110", "112"}), ("US", {"911", "112"}), ("GB", {"999", "112"}),
])
def test_emergency_numbers_follow_the_country(country, numbers):
    assert numbers <= set(emergency_numbers(country))


@pytest.mark.parametrize(("extensions", "country", "plan"), [
    (["100", "199", "2001"], "RU", "(*97|01|02|03|101|102|103|112|1xx|2xxx|8xxxxxxxxxx|810xx.)"),
    (["200"], "DE", "(*97|110|112|2xx|0xx.|00xx.)"),
    (["300", "301"], "US", "(*97|112|911|3xx|1xxxxxxxxxx|011xx.)"),
])
def test_cisco_dial_plan(extensions, country, plan):
    assert cisco.dial_plan(digit_map(extensions, country)) == plan


def test_an_extension_shorter_than_every_outside_form_is_sent_at_once():
    # no pattern but its own can still match '3' followed by two digits: the SPA sends it without waiting
    plan = cisco.dial_plan(digit_map(["300"], "US")).strip("()").split("|")
    longer = [p for p in plan if p != "3xx" and p.startswith("3")]
    assert longer == []
