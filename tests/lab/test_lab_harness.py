"""The SIP test peers checked against each other: baresip phones on the host play the PBX's trunk side
against the carrier, so a failure in a PBX test is never the harness's."""

from __future__ import annotations

import threading

import pytest
from harness.carrier import TrunkAccount

from pbxctl.lab import layout

pytestmark = pytest.mark.lab

# Numbers as SIP logins, as many providers sell them; the phone then answers calls to its own number.
CITY = TrunkAccount("city", username="74951110001", password="city-secret-1", dids=("74951110001",))
CHEAP = TrunkAccount("cheap", username="acc2002", password="cheap-secret-2", respond_503=True)


@pytest.fixture
def provider(carrier):
    carrier.configure([CITY, CHEAP])
    return carrier


def _trunk_phone(phone_factory, provider, account):
    return phone_factory(account.username, account.password, server=provider.machine_address)


def test_registration_is_seen_by_the_carrier(provider, phone_factory):
    phone = _trunk_phone(phone_factory, provider, CITY)
    assert phone.register()
    assert provider.wait_registered(CITY.username, timeout=10)
    assert provider.contacts(CITY.username)[0].startswith(f"sip:{CITY.username}")


def test_wrong_password_is_refused(provider, phone_factory):
    phone = phone_factory(CITY.username, "not-the-password", server=provider.machine_address)
    assert not phone.register()
    assert not provider.registered(CITY.username)


def test_carrier_calls_a_did_with_caller_id_and_dtmf(provider, phone_factory):
    phone = _trunk_phone(phone_factory, provider, CITY)
    assert phone.register()
    result = {}
    caller = threading.Thread(
        target=lambda: result.update(call=provider.call_did("74951110001", "+79161234567", dtmf="42", wait=3))
    )
    caller.start()
    incoming = phone.wait_incoming(timeout=20)
    assert incoming.answered
    assert incoming.peer_uri.startswith("sip:+79161234567@")
    caller.join(timeout=60)
    assert result["call"].answered, result["call"].events
    assert phone.dtmf_received() == "42"
    sent, received = phone.last_call_rtp()
    assert sent > 50 and received > 50, (sent, received)


def test_unanswered_did_call_is_reported(provider, phone_factory):
    phone = phone_factory(CITY.username, CITY.password, server=provider.machine_address, auto_answer=False)
    assert phone.register()
    result = provider.call_did("74951110001", "+79161234567", answer_timeout=4)
    assert not result.answered


def test_outbound_call_is_answered_and_logged_with_its_account(provider, phone_factory):
    phone = _trunk_phone(phone_factory, provider, CITY)
    assert phone.call("+74957654321").answered
    phone.wait_closed(timeout=15)
    sent, received = phone.last_call_rtp()
    assert received > 50, "the carrier plays a tone after answering"
    [call] = provider.outbound_calls()
    assert (call.account, call.dialled, call.caller_id, call.result) == (
        "city", "+74957654321", CITY.username, "answered")
    assert call.from_header.startswith(f"<sip:{CITY.username}@")


def test_failing_account_answers_503(provider, phone_factory):
    phone = _trunk_phone(phone_factory, provider, CHEAP)
    outcome = phone.call("+74957654322")
    assert not outcome.answered
    assert outcome.reason.startswith("503")
    assert [(call.account, call.result) for call in provider.outbound_calls()] == [("cheap", "503")]


def test_phone_can_use_a_second_host_address(provider, phone_factory):
    phone = phone_factory(CITY.username, CITY.password, server=provider.machine_address,
                          local_address=f"{layout.SUBNET}.99")
    assert phone.register()
    assert f"@{layout.SUBNET}.99:" in provider.contacts(CITY.username)[0]
