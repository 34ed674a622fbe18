"""`pbxctl test-calls SITE SCENARIOS`: the scenarios `pbxctl explain` is checked against, replayed as real calls.

Each scenario's call enters the lab PBX the way a provider's call does (the lab carrier, on the DID's trunk, with
the caller's number), IVR keys go as RFC 4733 DTMF, the extensions it rings are registered simulated phones of
which only the one the scenario names picks up. What happened is read back from the PBX: the dialplan it ran for
that call (its own log), not inferred from the far ends. The result is compared with the scenario's expectation
and with explain's walk of the same call.

A PBX's clock can't be moved per call, so a scenario is replayed only when explain says the call goes the same way
now (on the PBX's clock) as at the scenario's `at`; the others are reported as not replayable, with the reason.
"""

from .report import Actual, Expected, Outcome
from .scenarios import Scenario, load_scenarios

__all__ = ["Actual", "Expected", "Outcome", "Scenario", "load_scenarios"]
