"""The lab's SIP phone lives in the package (the lab demo uses it too); tests import it from here."""

from collections.abc import Callable

from pbxctl.lab.phone import CallOutcome, Phone  # noqa: F401


def registered_extension(phone_factory: Callable[..., Phone], logins: dict, number: str, auto_answer: bool = True,
                         **options: object) -> Phone:
    """A phone on extension NUMBER with its login from a build's asterisk__extension_secrets, registered."""
    login = logins[number]
    phone = phone_factory(number, login["password"], auth_user=login["username"], auto_answer=auto_answer, **options)
    assert phone.register(), f"extension {number} did not register:\n{phone.log()[-1500:]}"
    return phone


def calls_out(phone: Phone, carrier, number: str = "89161234567") -> list[tuple[str, str]]:
    """The extension calls NUMBER out through the carrier, which answers: (account, dialled) of each call the
    carrier took meanwhile."""
    carrier.clear_calls()
    outcome = phone.call(number, timeout=30)
    assert outcome.answered, outcome.reason
    phone.wait_closed(timeout=20)
    return [(call.account, call.dialled) for call in carrier.outbound_calls()]
