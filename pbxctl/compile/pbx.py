"""Variables of the asterisk role: everything the PBX templates need, normalised and derived."""

from pathlib import PurePosixPath

from ..numbers import dialplan_plan, to_e164
from ..resolve import pbx_address, trunk_networks
from ..security.ranges import region_codes, tables
from ..site import Site
from ..site.paths import is_sound_file
from . import dialplan, features

# a prompt ending in one of these is a file in the site repo, shipped by the role; anything else is a sound name
SOUNDS_DIR = "/var/lib/asterisk/sounds/pbxctl"
RECORDINGS_HTTP_PORT = 8088


E164_DIGITS = (7, 15)  # an E.164 number has 7 to 15 digits after the '+'


def dial_patterns(pattern: str) -> list[str]:
    """An E.164 route pattern as strict Asterisk patterns: only '+' and digits of an E.164 length match.

    +7XXXXXXXXXX → _+7XXXXXXXXXX; a final '.' (any number of digits) becomes one pattern per length,
    +X. → _+ZXXXXXX … _+ZXXXXXXXXXXXXXX (a country code never starts with 0), never Asterisk's '.' that
    matches any character at all.
    """
    open_end = pattern.endswith(".")
    body = pattern[1:].removesuffix(".")
    body = ("Z" + body[1:]) if body[:1] == "X" else body
    if not open_end:
        return ["_+" + body if any(c in "XZN" for c in body) else "+" + body]
    low, high = max(E164_DIGITS[0], len(body) + 1), E164_DIGITS[1]
    return [f"_+{body}{'X' * (length - len(body))}" for length in range(low, high + 1)]


def _trunk(trunk, country: str) -> dict:
    data = trunk.model_dump(mode="json", exclude_none=True)
    if trunk.type != "gsm_dongle":
        data["networks"] = trunk_networks(trunk)
    data["dids"] = [to_e164(did, country) for did in trunk.dids]
    if trunk.caller_id:
        data["caller_id"] = to_e164(trunk.caller_id, country)
    return data


def _presented_number(route, trunk, country: str) -> str | None:
    """A trunk's own number wins (providers refuse others), then the route's, then the trunk's first DID."""
    chosen = trunk.caller_id or route.caller_id or (trunk.dids[0] if trunk.dids else None)
    return to_e164(chosen, country) if chosen else None


def _outbound_route(route, site: Site) -> dict:
    country = site.site.country
    trunks = {t.name: t for t in site.trunks}
    data = route.model_dump(mode="json", exclude_none=True)
    data["dial_patterns"] = [strict for p in route.patterns for strict in dial_patterns(p)]
    # the regions allowed_countries names (ISO regions, or calling codes: all their regions)
    data["allowed_regions"] = region_codes(route.allowed_countries)
    if route.caller_id:
        data["caller_id"] = to_e164(route.caller_id, country)
    data["legs"] = [
        {"trunk": name, "type": trunks[name].type, "format": trunks[name].outbound_format.value,
         "technology": dialplan.technology(trunks[name]),
         "caller_id": _presented_number(route, trunks[name], country), "channels": trunks[name].channels,
         # a trunk with a number of its own shows only that; else a call rung on to a mobile shows its caller
         "fixed_caller_id": trunks[name].caller_id is not None}
        for name in route.trunks
    ]
    return data


def _minute_before(hhmm: str) -> str:
    hours, minutes = divmod(int(hhmm[:2]) * 60 + int(hhmm[3:]) - 1, 60)
    return f"{hours:02d}:{minutes:02d}"


def _schedule(schedule, site: Site) -> dict:
    """Office hours in GotoIfTime's terms: inclusive minute ranges and '&'-joined days."""
    return {
        "name": schedule.name,
        "timezone": schedule.timezone or site.site.timezone,
        "ranges": [{"time": f"{r.start}-{_minute_before(r.end)}", "days": "&".join(r.days)} for r in schedule.open],
        "holidays": [d.isoformat() for d in schedule.holidays],
    }


def _inbound_route(route, country: str) -> dict:
    data = route.model_dump(mode="json", exclude_none=True)
    data["did"] = to_e164(route.did, country)
    return data | dialplan.inbound_calls(route)


def _sound_name(prompt: str) -> str:
    """The name Asterisk plays: a shipped file goes to sounds/pbxctl/ under its own name, without the suffix."""
    if not is_sound_file(prompt):
        return prompt
    path = PurePosixPath(prompt)
    return f"pbxctl/{path.name[: -len(path.suffix)]}"


def _ivr(ivr) -> dict:
    data = ivr.model_dump(mode="json", exclude_none=True)
    data["sound"] = _sound_name(ivr.prompt)
    return data | dialplan.ivr_calls(ivr)


def _sound_files(site: Site) -> list[dict]:
    """Prompt files of the site repo: src relative to the site file, dest under the role's sound directory."""
    files = {}
    prompts = [ivr.prompt for ivr in site.ivrs] + [site.recording.announcement or ""]
    for prompt in prompts:
        if is_sound_file(prompt):
            files[PurePosixPath(prompt).name] = {"src": prompt, "dest": f"{SOUNDS_DIR}/{PurePosixPath(prompt).name}"}
    return sorted(files.values(), key=lambda f: f["dest"])


def _outbound_sets(site: Site) -> list[dict]:
    """Extensions grouped by the routes open to them, in site order (the first route whose pattern matches wins).

    Each distinct set becomes one dialplan context, so routes sharing a pattern (a city each) never shadow
    each other: an extension only ever sees its own routes.
    """
    sets: dict[tuple[str, ...], list[str]] = {}
    for ext in site.extensions:
        names = tuple(r.name for r in site.outbound_routes if r.extensions is None or ext.number in r.extensions)
        sets.setdefault(names, []).append(ext.number)
    return [{"name": f"outbound-{index}", "routes": list(names), "extensions": numbers}
            for index, (names, numbers) in enumerate(sets.items(), 1)]


def _recording(site: Site) -> dict:
    data = site.recording.model_dump(mode="json", exclude_none=True)
    data["path"] = data["path"].rstrip("/") or "/"
    if site.recording.announcement:
        data["announcement_sound"] = _sound_name(site.recording.announcement)
    return data


def _cdr(site: Site) -> dict:
    data = site.cdr.model_dump(mode="json", exclude_none=True)
    # every system that gets the call records, cdr.webhook as the one named 'webhook' (the sender reads these)
    data["targets"] = [t.model_dump(mode="json", exclude_none=True) for t in site.cdr.all_targets()]
    data["recording_base_url"] = (site.cdr.recording_base_url
                                  or f"https://{pbx_address(site)}:{RECORDINGS_HTTP_PORT}/recordings/")
    if not data["recording_base_url"].endswith("/"):
        data["recording_base_url"] += "/"
    return data


def _dongles(site: Site) -> list[dict]:
    return [t.model_dump(mode="json", exclude_none=True) for t in site.trunks if t.type == "gsm_dongle"]


def _number_ranges(site: Site) -> list[dict]:
    """Numbering ranges of the codes the site can reach (its own, those its routes allow), for the guard."""
    own = dialplan_plan(site.site.country)["code"]
    allowed = region_codes([c for r in site.outbound_routes for c in r.allowed_countries])
    return tables([own, *(dialplan_plan(region)["code"] for region in allowed)])


def _install(site: Site) -> dict:
    install = site.pbx.install
    found = {"source": install.source, "version": install.version}
    if install.gsm_sources:
        found["gsm_sources"] = {d: s.model_dump(mode="json", exclude_none=True) for d, s in install.gsm_sources.items()}
    return found


def pbx_vars(site: Site) -> dict:
    country = site.site.country
    recorded = {e.number for e in site.extensions if e.recording == "always"}  # who records every call
    return {
        "asterisk__flavour": site.pbx.flavour,
        # GSM driver sources stay relative to the site file: the role reads them beside it (asterisk__site_dir)
        "asterisk__install": _install(site),
        "asterisk__address": pbx_address(site),
        "asterisk__sip_port": site.pbx.sip_port,
        "asterisk__local_networks": [str(n) for n in site.pbx.local_networks],
        "asterisk__public_address": str(site.pbx.public_address) if site.pbx.public_address else None,
        # certificate and key files the site gives are read beside the site file (asterisk__site_dir)
        "asterisk__sip_tls": site.pbx.tls.model_dump(mode="json") if site.pbx.tls else None,
        "asterisk__rtp_start": site.pbx.rtp_ports.start,
        "asterisk__rtp_end": site.pbx.rtp_ports.end,
        "asterisk__codecs": list(site.pbx.codecs),
        "asterisk__country": dialplan_plan(country),
        "asterisk__number_ranges": _number_ranges(site),
        "asterisk__extensions": [features.extension(e, site) for e in site.extensions],
        "asterisk__features": features.features(site),
        "asterisk__trunks": [_trunk(t, country) for t in site.trunks],
        "asterisk__schedules": [_schedule(s, site) for s in site.schedules],
        "asterisk__inbound_routes": [_inbound_route(r, country) for r in site.inbound_routes],
        "asterisk__ivrs": [_ivr(i) for i in site.ivrs],
        "asterisk__sound_files": _sound_files(site),
        "asterisk__ring_groups": [dialplan.ring_group(g, recorded) for g in site.ring_groups],
        "asterisk__queues": [dialplan.queue(q, recorded) for q in site.queues],
        "asterisk__outbound_routes": [_outbound_route(r, site) for r in site.outbound_routes],
        "asterisk__outbound_sets": _outbound_sets(site),
        "asterisk__dongles": _dongles(site),
        "asterisk__recording": _recording(site),
        "asterisk__recordings_http_port": RECORDINGS_HTTP_PORT,
        "asterisk__cdr": _cdr(site),
        "asterisk__ami": site.integrations.ami.model_dump(mode="json") if site.integrations.ami else None,
        "asterisk__crm": site.crm.model_dump(mode="json") if site.crm else None,
    }
