"""Where pbxctl's firewall filter rules must sit: together, in their own order, just before fasttrack."""


def _owned(rule, owned):
    return str(rule.get("comment", "")).startswith(owned)


def _dynamic(rule):
    return str(rule.get("dynamic", "false")).lower() in ("true", "yes")


def filter_moves(rules, owned):
    """The moves (id, destination, comment) that put pbxctl's forward rules right before the first fasttrack rule.

    rules: /ip/firewall/filter as printed (api_info), in router order; owned: the comment prefix of pbxctl's
    entries (routeros__owned). pbxctl's rules keep the order they
    already have among themselves (api_modify's ensure_order sets it). Without a fasttrack rule they go
    before the first forward rule of the user's. Nothing to move gives [].
    """
    rules = [r for r in rules if not _dynamic(r)]
    ours = [r for r in rules if _owned(r, owned) and r.get("chain") == "forward"]
    forward = [r for r in rules if r.get("chain") == "forward" and not _owned(r, owned)]
    anchor = next((r for r in forward if r.get("action") == "fasttrack-connection"), None)
    anchor = anchor or (forward[0] if forward else None)
    if not ours or anchor is None:
        return []
    at = rules.index(anchor)
    if at >= len(ours) and rules[at - len(ours):at] == ours:
        return []
    return [{"id": r[".id"], "destination": anchor[".id"], "comment": r.get("comment", "")} for r in ours]


class FilterModule:
    def filters(self):
        return {"routeros_filter_moves": filter_moves}
