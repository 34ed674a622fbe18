"""The lab's SIP provider lives in the package (the lab demo uses it too); tests import it from here."""

from pbxctl.lab.carrier import PROBE_HEADER, Carrier, InboundCallResult, OutboundCall, TrunkAccount  # noqa: F401
