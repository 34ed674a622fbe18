"""The lab's SIP phone lives in the package (the lab demo uses it too); tests import it from here."""

from pbxctl.lab.phone import CallOutcome, Phone  # noqa: F401
