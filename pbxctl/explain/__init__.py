"""`pbxctl explain`: the path an inbound call takes through the compiled routing, without a server.

It reads the asterisk role's variables (what compile wrote into vars.yml) and follows the same steps the
dialplan templates lay out (extensions_routing, _ivrs, _targets): the DID's inbound route, its schedule and
holidays in the schedule's time zone, the CRM lookup, IVR menus, ring groups and queues with their overflow,
the route's fallback and voicemail. What only the call itself decides (the CRM's answer, a key, who picks up)
is either given (Call) or shown as branches. The result is data (Path, as_json) so that a replay of the same
call against a real PBX can be compared with it; text.lines prints it.
"""

from .call import Call, parse_at, parse_presses
from .path import Branch, Outcome, Path, Step
from .walk import explain

__all__ = ["Branch", "Call", "Outcome", "Path", "Step", "explain", "parse_at", "parse_presses"]
