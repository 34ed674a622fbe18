"""Checks across sections, after each section has parsed: references, uniqueness, numbers."""

from collections.abc import Iterator

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

from ..numbers import NumberFormat, to_e164
from ..problems import Path, Problem
from ..security.ranges import allowed_entry_problem
from .base import target_kind, target_ref
from .catalogue import MODELS
from .encryption import encryption_problems
from .features import feature_problems
from .general import known_zones
from .gsm import gsm_problems
from .links import link_problems, linked
from .loops import loop_problems
from .model import Site
from .pbx import RECORDINGS_HTTP_PORT
from .standby import standby_problems


def cross_check(site: Site) -> list[Problem]:
    return [
        *_unique_names(site),
        *_targets(site),
        *_numbers(site),
        *_routes(site),
        *_phones(site),
        *_schedules(site),
        *_ivrs(site),
        *loop_problems(site),
        *_ports(site),
        *link_problems(site),
        *standby_problems(site),
        *feature_problems(site),
        *encryption_problems(site),
        *gsm_problems(site),
    ]


def _duplicates(items: list, attr: str, section: str, what: str) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        value = getattr(item, attr)
        if value in seen:
            yield Problem((section, index, attr), f"{what} '{value}' is already used by {section}[{seen[value]}]")
        else:
            seen[value] = index


def _unique_names(site: Site) -> Iterator[Problem]:
    yield from _duplicates(site.extensions, "number", "extensions", "extension number")
    for section in ("trunks", "schedules", "ivrs", "ring_groups", "queues", "outbound_routes"):
        yield from _duplicates(getattr(site, section), "name", section, "name")
    yield from _duplicates(site.phones, "mac", "phones", "MAC")
    for section in ("ring_groups", "queues"):
        for index, group in enumerate(getattr(site, section)):
            for member_index, member in enumerate(group.members):
                if group.members.index(member) != member_index:
                    yield Problem((section, index, "members", member_index), f"'{member}' is listed twice")


def _known(site: Site) -> dict[str, set[str]]:
    extensions = {e.number for e in site.extensions}
    return {
        "extension": extensions,
        "voicemail": {e.number for e in site.extensions if e.voicemail},
        "group": {g.name for g in site.ring_groups},
        "queue": {q.name for q in site.queues},
        "ivr": {i.name for i in site.ivrs},
    }


def _target_fields(site: Site) -> Iterator[tuple[Path, str]]:
    for index, route in enumerate(site.inbound_routes):
        for field in ("target", "after_hours", "fallback"):
            if getattr(route, field):
                yield ("inbound_routes", index, field), getattr(route, field)
    for index, ivr in enumerate(site.ivrs):
        for option_index, option in enumerate(ivr.options):
            yield ("ivrs", index, "options", option_index, "target"), option.target
            if option.after_hours:
                yield ("ivrs", index, "options", option_index, "after_hours"), option.after_hours
        yield ("ivrs", index, "on_timeout"), ivr.on_timeout
        if ivr.on_invalid:
            yield ("ivrs", index, "on_invalid"), ivr.on_invalid
    for section in ("ring_groups", "queues"):
        for index, group in enumerate(getattr(site, section)):
            if group.overflow:
                yield (section, index, "overflow"), group.overflow
    for index, group in enumerate(site.ring_groups):
        if group.after_hours:
            yield ("ring_groups", index, "after_hours"), group.after_hours


def _targets(site: Site) -> Iterator[Problem]:
    known = _known(site)
    for path, target in _target_fields(site):
        kind = target_kind(target)
        if kind != "hangup" and target_ref(target) not in known[kind] and not (
                kind == "extension" and linked(site, target_ref(target))):  # rings on a linked PBX
            hint = " (voicemail is off for it)" if kind == "voicemail" and target_ref(target) in known[
                "extension"] else ""
            yield Problem(path, f"{kind} '{target_ref(target)}' is not defined{hint}")
    for section in ("ring_groups", "queues"):
        for index, group in enumerate(getattr(site, section)):
            for member_index, member in enumerate(group.members):
                if member not in known["extension"]:
                    yield Problem((section, index, "members", member_index), f"extension '{member}' is not "
                                  "defined")
    for index, route in enumerate(site.outbound_routes):
        trunk_names = {t.name for t in site.trunks}
        for trunk_index, trunk in enumerate(route.trunks):
            if trunk not in trunk_names:
                yield Problem(("outbound_routes", index, "trunks", trunk_index), f"trunk '{trunk}' is not defined")
        for ext_index, number in enumerate(route.extensions or []):
            if number not in known["extension"]:
                yield Problem(("outbound_routes", index, "extensions", ext_index),
                              f"extension '{number}' is not defined")


def _e164(site: Site, path: Path, number: str) -> Iterator[Problem]:
    try:
        to_e164(number, site.site.country)
    except ValueError as error:
        yield Problem(path, str(error))


def _numbers(site: Site) -> Iterator[Problem]:
    owner: dict[str, Path] = {}
    for index, trunk in enumerate(site.trunks):
        for did_index, did in enumerate(trunk.dids):
            path = ("trunks", index, "dids", did_index)
            problems = list(_e164(site, path, did))
            yield from problems
            if not problems:
                e164 = to_e164(did, site.site.country)
                if e164 in owner:
                    yield Problem(path, f"DID {e164} is also delivered by {Problem(owner[e164], '').dotted}")
                owner[e164] = path
        if trunk.caller_id:
            yield from _e164(site, ("trunks", index, "caller_id"), trunk.caller_id)
    for index, route in enumerate(site.outbound_routes):
        if route.caller_id:
            yield from _e164(site, ("outbound_routes", index, "caller_id"), route.caller_id)
        for pattern_index, pattern in enumerate(route.patterns):
            if not pattern.startswith("+") or not all(c.isdigit() or c in "XZN." for c in pattern[1:]):
                yield Problem(("outbound_routes", index, "patterns", pattern_index),
                              f"'{pattern}' is not an E.164 pattern (+ then digits, X, Z, N and a final '.')")
            elif problem := e164_pattern_problem(pattern):
                yield Problem(("outbound_routes", index, "patterns", pattern_index), problem)
        for entry_index, entry in enumerate(route.allowed_countries):
            if problem := allowed_entry_problem(entry):
                yield Problem(("outbound_routes", index, "allowed_countries", entry_index), problem)
    dongle_formats = {NumberFormat.e164, NumberFormat.national, NumberFormat.international}
    for index, trunk in enumerate(site.trunks):
        if trunk.type == "gsm_dongle" and trunk.outbound_format not in dongle_formats:
            yield Problem(("trunks", index, "outbound_format"), "a GSM modem dials national or full numbers")


def e164_pattern_problem(pattern: str) -> str | None:
    """Why a pattern of + and digits/X/Z/N (and a final '.') can match no E.164 number, or None."""
    body, open_end = pattern[1:].removesuffix("."), pattern.endswith(".")
    if "." in body:
        return f"'{pattern}': '.' (any further digits) only at the end"
    if body[:1] == "0":
        return f"'{pattern}': no country code starts with 0"
    if len(body) + open_end > 15 or (not open_end and len(body) < 7):
        return f"'{pattern}' matches no E.164 number (7 to 15 digits after the '+')"
    return None if open_end else _length_problem(pattern, body)


def _length_problem(pattern: str, body: str) -> str | None:
    """Why a fixed-length pattern is too short or long for every region of its calling code, or None."""
    digits = len(body) - len(body.lstrip("0123456789"))
    code = next((body[:n] for n in (1, 2, 3) if n <= digits and int(body[:n]) in COUNTRY_CODE_TO_REGION_CODE), None)
    if code is None:
        return None
    lengths = sorted({length for region in COUNTRY_CODE_TO_REGION_CODE[int(code)]
                      if (metadata := PhoneMetadata.metadata_for_region(region)) is not None
                      for length in metadata.general_desc.possible_length if length > 0})
    national = len(body) - len(code)
    if not lengths or national in lengths:
        return None
    fits = min(lengths, key=lambda n: abs(n - national))
    fixed = "+" + code + body[len(code):] + "X" * (fits - national) if fits > national else None
    return (f"'{pattern}' has {national} digits after +{code}; numbers there have "
            f"{' or '.join(map(str, lengths))}" + (f": {fixed}" if fixed else ""))


def _routes(site: Site) -> Iterator[Problem]:
    delivered = {to_e164(d, site.site.country) for t in site.trunks for d in t.dids if not list(
        _e164(site, (), d))}
    seen: dict[str, int] = {}
    schedules = {s.name for s in site.schedules}
    for index, route in enumerate(site.inbound_routes):
        try:
            did = to_e164(route.did, site.site.country)
        except ValueError as error:
            yield Problem(("inbound_routes", index, "did"), str(error))
            continue
        if did in seen:
            yield Problem(("inbound_routes", index, "did"), f"DID {did} is already routed by "
                          f"inbound_routes[{seen[did]}]")
        seen[did] = index
        if did not in delivered:
            yield Problem(("inbound_routes", index, "did"), f"DID {did} is not delivered by any trunk's dids")
        yield from _hours(("inbound_routes", index), route, schedules, "a route")
    claimed: dict[tuple[str, frozenset | None], int] = {}
    for index, route in enumerate(site.outbound_routes):
        callers = frozenset(route.extensions) if route.extensions is not None else None
        for pattern_index, pattern in enumerate(route.patterns):
            other = claimed.setdefault((pattern, callers), index)
            if other != index:
                yield Problem(("outbound_routes", index, "patterns", pattern_index),
                              f"'{pattern}' is already routed by outbound_routes[{other}] for the same extensions")
    for index, route in enumerate(site.outbound_routes):
        if route.international_hours and route.international_hours not in schedules:
            yield Problem(("outbound_routes", index, "international_hours"),
                          f"schedule '{route.international_hours}' is not defined")
    if site.security.international_hours and site.security.international_hours not in schedules:
        yield Problem(("security", "international_hours"), f"schedule '{site.security.international_hours}' "
                      "is not defined")
    if any(r.crm_lookup for r in site.inbound_routes) and site.crm is None:
        index = next(i for i, r in enumerate(site.inbound_routes) if r.crm_lookup)
        yield Problem(("inbound_routes", index, "crm_lookup"), "crm_lookup needs a crm section with the url")


def phone_problems(site: Site) -> list[Problem]:
    """What `validate` says about the phones, for callers that build a Site without loading a file."""
    return list(_phones(site))


def _phones(site: Site) -> Iterator[Problem]:
    extensions = {e.number for e in site.extensions}
    for index, phone in enumerate(site.phones):
        own = {line.extension for line in phone.lines}
        model = MODELS.get(phone.model)
        if model is None:
            yield Problem(("phones", index, "model"), f"unknown model '{phone.model}'; known: "
                          f"{', '.join(sorted(MODELS))}")
        elif len(phone.lines) > model.lines:
            yield Problem(("phones", index, "lines"), f"{phone.model} has {model.lines} line(s), "
                          f"{len(phone.lines)} given")
        elif len(phone.keys) > model.keys:
            yield Problem(("phones", index, "keys"), f"{phone.model} has {model.keys} programmable key(s), "
                          f"{len(phone.keys)} given")
        elif model.shared_keys and len(phone.lines) + len(phone.keys) > model.keys:
            # one row of keys: each registered line takes one before any BLF/speed dial gets its own
            yield Problem(("phones", index, "keys"), f"{phone.model} has {model.keys} keys for lines and "
                          f"BLF/speed dial together, {len(phone.lines)} line(s) + {len(phone.keys)} key(s) given")
        for line_index, line in enumerate(phone.lines):
            if line.extension not in extensions:
                yield Problem(("phones", index, "lines", line_index, "extension"),
                              f"extension '{line.extension}' is not defined")
        for key_index, key in enumerate(phone.keys):
            if key.type == "blf" and key.extension is None:
                yield Problem(("phones", index, "keys", key_index, "extension"), "a BLF key needs an extension")
            elif key.type == "blf" and key.extension not in extensions:
                yield Problem(("phones", index, "keys", key_index, "extension"),
                              f"BLF key needs a defined extension, got '{key.extension}'")
            if key.type == "line" and key.extension not in own:
                got = f"got '{key.extension}'" if key.extension else "none given"
                yield Problem(("phones", index, "keys", key_index, "extension"),
                              f"a line key needs one of this phone's lines ({', '.join(sorted(own))}), {got}")
            if key.type == "speed_dial" and not key.number:
                yield Problem(("phones", index, "keys", key_index, "number"), "speed_dial needs a number")
    prov = site.provisioning
    # a device's own file carries its SIP and admin passwords: only over HTTPS, only to its own login
    # (TFTP serves nothing but the secret-free model-level files)
    if site.phones and "https" not in prov.protocols:
        yield Problem(("provisioning", "protocols"), "the phones' own files carry their passwords and are served "
                      "only over HTTPS (TFTP serves only the model-level files): list https")
    if site.phones and not prov.http_auth:
        yield Problem(("provisioning", "http_auth"), "a phone's own file carries its passwords: it is served only "
                      "to that phone's login; http_auth: false is refused")


def _ivrs(site: Site) -> Iterator[Problem]:
    for index, ivr in enumerate(site.ivrs):
        first: dict[str, int] = {}
        for option_index, option in enumerate(ivr.options):
            if option.digit in first:
                yield Problem(("ivrs", index, "options", option_index, "digit"),
                              f"digit '{option.digit}' is already options[{first[option.digit]}], which "
                              "callers would always reach: give each key one target")
            first.setdefault(option.digit, option_index)
    # a caller who presses nothing follows on_timeout: a chain of IVRs that comes back never ends the call
    after = {ivr.name: target_ref(ivr.on_timeout) for ivr in site.ivrs if target_kind(ivr.on_timeout) == "ivr"}
    index_of = {ivr.name: index for index, ivr in enumerate(site.ivrs)}
    reported: set[str] = set()
    for ivr in site.ivrs:
        chain = [ivr.name]
        while chain[-1] in after and after[chain[-1]] not in chain:
            chain.append(after[chain[-1]])
        if chain[-1] in after and after[chain[-1]] == ivr.name and ivr.name not in reported:
            reported.update(chain)
            yield Problem(("ivrs", index_of[ivr.name], "on_timeout"),
                          f"a caller who presses nothing goes round {' → '.join([*chain, ivr.name])} forever; "
                          "end the chain at an extension, a group, voicemail or hangup")


def _ports(site: Site) -> Iterator[Problem]:
    rtp = site.pbx.rtp_ports
    # every call leg takes an RTP port and its RTCP neighbour: a leg per trunk channel and per extension at most
    legs = sum(t.channels for t in site.trunks) + len(site.extensions)
    have = rtp.end - rtp.start + 1
    if have < 2 * legs:
        yield Problem(("pbx", "rtp_ports", "end"), f"{have} RTP ports hold {have // 2} call legs, and this site's "
                      f"trunk channels and extensions make up to {legs} (2 ports each): set end to at least "
                      f"{rtp.start + 2 * legs - 1}")
    taken = {RECORDINGS_HTTP_PORT: "the recordings' HTTPS port", site.pbx.ssh_port: "pbx.ssh_port"}
    port = site.provisioning.https_port
    if port in taken and "https" in site.provisioning.protocols:
        yield Problem(("provisioning", "https_port"), f"port {port} is {taken[port]} on the PBX; the phone files "
                      "need a port of their own, e.g. 443")


def _hours(path: Path, item, schedules: set[str], what: str) -> Iterator[Problem]:
    """schedule and after_hours of an inbound route, an IVR key or a ring group: a known schedule, and the two
    together (after_hours alone would never be taken; a schedule alone would have nowhere to send the call)."""
    if item.schedule and item.schedule not in schedules:
        yield Problem((*path, "schedule"), f"schedule '{item.schedule}' is not defined")
    if item.schedule and not item.after_hours:
        yield Problem((*path, "after_hours"), f"{what} with a schedule needs after_hours")
    if item.after_hours and not item.schedule:
        yield Problem((*path, "after_hours"), "after_hours is only taken outside a schedule's hours: name the "
                      "schedule, or drop after_hours")


def _schedules(site: Site) -> Iterator[Problem]:
    zones = known_zones()
    for index, schedule in enumerate(site.schedules):
        if schedule.timezone and schedule.timezone not in zones:
            yield Problem(("schedules", index, "timezone"), f"unknown time zone '{schedule.timezone}'")
    names = {s.name for s in site.schedules}
    for index, ivr in enumerate(site.ivrs):
        for option_index, option in enumerate(ivr.options):
            yield from _hours(("ivrs", index, "options", option_index), option, names, "a key")
    for index, group in enumerate(site.ring_groups):
        yield from _hours(("ring_groups", index), group, names, "a ring group")
