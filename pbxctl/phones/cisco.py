"""Cisco SPA30x/50x desk phones and SPA112/122 ATAs: XML flat profiles.

Files: `spa<PSN>.cfg` per model, what a factory-reset device asks for by itself (its default Profile_Rule is
/spa$PSN.cfg on the option-66 server). It holds no secret: it makes the device trust the site CA (Custom_CA_Rule)
and sets Profile_Rule_B to `spa<mac>.xml` over HTTPS with the login `$MA` / `$A`, the MAC and the GPP_A value set
on the device at staging (Cisco's macros: $MA the MAC, $A-$P the GPP_A-GPP_P parameters). Profile rules A-D run in
order in one resync, so the device fetches its own file in the same resync, not one Resync_Periodic later. A device
not staged gets 401 and nothing else. The per-device profile carries everything else, including a Profile_Rule
with the device's own credentials written out (and Profile_Rule_B cleared: one fetch a resync).

Every name and value format used is in phone_templates/cisco/reference.yml with where it is documented.
"""

from jinja2 import Environment

from ..site.catalogue import PhoneModel
from .digits import DigitMap
from .timezones import Change, Zone

# site codec name → SPA Preferred_Codec value; the rest (opus, gsm) the SPA can't do
CODECS = {"alaw": "G711a", "ulaw": "G711u", "g722": "G722", "g729": "G729a"}
CODEC_SLOTS = ("Preferred_Codec", "Second_Preferred_Codec", "Third_Preferred_Codec")
ATAS = {"SPA112", "SPA122"}  # analogue ports, no screen, keys or VLAN page
ATA_CODECS = {"alaw", "ulaw", "g729"}  # SPA112/122 have no G.722


def bootstrap_name(model: PhoneModel) -> str:
    return f"spa{model.cisco_psn}.cfg"


def profile_name(mac: str) -> str:
    return f"spa{mac}.xml"  # $MA expands to the lower-case MAC


def time_zone(offset: int) -> str:
    sign = "-" if offset < 0 else "+"
    return f"GMT{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"


def _hms(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60}:0"


def _when(change: Change) -> str:
    # month/day/weekday/time: day -1 = last, else the first day the weekday may fall on; weekday 1=Mon … 7=Sun
    day = -1 if change.ordinal == 5 else (change.ordinal - 1) * 7 + 1
    return f"{change.month}/{day}/{change.weekday or 7}/{_hms(change.minutes)}"


def dst_rule(zone: Zone) -> str | None:
    if zone.dst is None:
        return None
    return f"start={_when(zone.dst.start)};end={_when(zone.dst.end)};save={_hms(zone.dst.save)}"


def _nme(label: str) -> str:
    return label.replace(";", ",")  # ';' separates fields inside Extended_Function


def key_rows(ctx: dict) -> list[dict]:
    """Every line key of a shared-key phone: lines first, then BLF/speed dial, the rest cleared."""
    model: PhoneModel = ctx["model"]
    if not model.shared_keys:
        return []
    pbx = ctx["site"]["pbx"]["address"]
    rows = [{"n": line["index"], "extension": str(line["index"]), "short": line["extension"], "function": ""}
            for line in ctx["lines"]]
    for key in ctx["keys"]:
        n = len(rows) + 1
        label = _nme(key["label"])
        if key["type"] == "blf":
            function = f"fnc=blf+sd;sub={key['target']}@{pbx};nme={label}"
            rows.append({"n": n, "extension": "Disabled", "short": label, "function": function})
        elif key["type"] == "speed_dial":
            function = f"fnc=sd;ext={key['target']}@$PROXY;nme={label}"
            rows.append({"n": n, "extension": "Disabled", "short": label, "function": function})
        else:
            rows.append({"n": n, "extension": str(key["target"]), "short": label, "function": ""})
    rows += [{"n": n, "extension": "Disabled", "short": "", "function": ""}
             for n in range(len(rows) + 1, model.keys + 1)]
    return rows


def _arg(text: str) -> str:
    # generated credentials are letters and digits; anything else set by hand goes in quotes
    return text if text.isalnum() else '"' + text.replace('"', "") + '"'


STAGED_LOGIN = "[--uid $MA --pwd $A]"  # what the device holds: its MAC, and GPP_A set at staging


def profile_rule(ctx: dict) -> str:
    url = f"{ctx['site']['prov']['base_url']}/spa$MA.xml"
    return f"[--uid {_arg(ctx['http_user'])} --pwd {_arg(ctx['http_password'])}]{url}"


def dial_plan(digits: DigitMap) -> str:
    """The SPA dial plan (Administration Guide, "Dial Plans"): x a digit, x. any more digits, | between patterns.
    A pattern that matches and can't grow is sent at once; the variable ones wait the short inter-digit timer."""
    patterns = [*digits.features, *digits.emergency]
    patterns += [first + "x" * (length - 1) for first, length in digits.extensions]
    prefix, length = digits.national
    patterns.append(prefix + ("x" * length if length else "xx."))
    patterns.append(digits.international + "xx.")
    return "(" + "|".join(dict.fromkeys(patterns)) + ")"


def upgrade_rule(ctx: dict) -> str | None:
    """Only while the device runs another version ($SWVER), so it does not fetch the image at every resync
    (Provisioning Guide, "Upgrade_Rule" and conditional expressions "(expr)? url")."""
    if not ctx["firmware_url"]:
        return None
    return f"($SWVER ne {ctx['firmware_version']})? {ctx['firmware_url']}"


def vendor_context(ctx: dict) -> dict:
    zone = ctx["site"]["zone"]
    ata = ctx["model"].product in ATAS
    usable = [c for c in ctx["site"]["pbx"]["codecs"] if c in CODECS and (c in ATA_CODECS or not ata)]
    codecs = [CODECS[c] for c in usable][:len(CODEC_SLOTS)]
    return {
        "ata": ata,
        "time_zone": time_zone(zone.offset),
        "dst_rule": dst_rule(zone),
        "codecs": list(zip(CODEC_SLOTS, codecs, strict=False)),
        "key_rows": key_rows(ctx),
        "profile_rule": profile_rule(ctx),
        "dial_plan": dial_plan(ctx["site"]["digits"]),
        "upgrade_rule": upgrade_rule(ctx),
    }


def device_files(env: Environment, ctx: dict) -> dict[str, bytes]:
    text = env.get_template("cisco/spa.xml.j2").render(d=ctx, v=vendor_context(ctx))
    return {profile_name(ctx["mac"]): text.encode("utf-8")}


def model_files(env: Environment, shared: dict, model: PhoneModel) -> dict[str, bytes]:
    rule = f"{STAGED_LOGIN}{shared['prov']['base_url']}/spa$MA.xml"  # shared by every device: no secret in it
    text = env.get_template("cisco/spa-bootstrap.cfg.j2").render(site=shared, model=model, profile_rule_b=rule)
    return {bootstrap_name(model): text.encode("utf-8")}
