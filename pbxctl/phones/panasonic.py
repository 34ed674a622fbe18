"""Panasonic KX-HDV / KX-TGP600 / KX-UT: "Standard Format File" text configuration.

Rules from Panasonic's Administrator Guides (KX-UT/KX-HDV, "Configuration File Specifications"): the file
starts with the 44-byte line `# Panasonic SIP Phone Standard Format File #`, every line ends with CR LF and is
at most 537 bytes including CR LF, parameters are written `NAME="value"` with no spaces around `=`, names are at
most 32 characters, values at most 500 and may not span lines, the file ends with an empty line, and the whole
configuration is at most 120 KB. A line breaking a rule is ignored by the phone, silently: so we refuse it here.

Files: `{MODEL}.cfg` per model (what the phone asks for first; no secrets) and `Config{MAC}.cfg` per device
(MAC in upper case, as the phone's {MAC} macro expands it). The model file makes the phone trust the site CA
(CFG_ROOT_CERTIFICATE_PATH) and names its own file over HTTPS without a login: the login is the one set on the
phone at staging (the Standard File URL `https://id:pass@…` entered in web programming, which outranks any
provisioned value; KX-HDV/KX-UT guides, "Priority Given to Each Programming Method"). The device file then
writes that same URL with its login.
"""

import re
from urllib.parse import quote

from jinja2 import Environment

from ..site.catalogue import PhoneModel
from .timezones import Change, Zone

HEADER = "# Panasonic SIP Phone Standard Format File #"
FIRST_LINE = HEADER + " DO NOT CHANGE THIS LINE!"
MAX_LINE = 537  # bytes, CR LF included
MAX_NAME = 32
MAX_VALUE = 500
MAX_FILE = 120 * 1024
PARAM = re.compile(r'^([A-Z0-9_]+)="([^"]*)"$')

# flexible button facilities ("FLEX_BUTTON_FACILITY_ACTn"): a line key is LINE on KX-HDV, DN on KX-UT; a one-touch
# key carries its number in FLEX_BUTTON_QUICK_DIALn, not in the facility argument
FACILITIES = {"blf": "X_PANASONIC_IPTEL_BLF", "speed_dial": "X_PANASONIC_IPTEL_ONETOUCH",
              "line": "X_PANASONIC_IPTEL_LINE"}
UT_LINE = "X_PANASONIC_IPTEL_DN"
UT_LINE_KEYS = 2  # a KX-UT dials only from a DN key: the first keys stay DN keys (two at least, one per line)


def device_name(mac: str) -> str:
    return f"Config{mac.upper()}.cfg"


def model_name(model: PhoneModel) -> str:
    return f"{model.product}.cfg"


def value(text: object) -> str:
    """A parameter value: one line, no double quote (the format has no escaping)."""
    return re.sub(r'[\x00-\x1f\x7f"]', "", str(text).replace('"', "'"))


def _dst(change: Change, prefix: str) -> list[tuple[str, object]]:
    return [(f"{prefix}_MONTH", change.month), (f"{prefix}_ORDINAL_DAY", change.ordinal),
            (f"{prefix}_DAY_OF_WEEK", change.weekday), (f"{prefix}_TIME", change.minutes)]


def time_params(zone: Zone) -> list[tuple[str, object]]:
    params: list[tuple[str, object]] = [("TIME_ZONE", zone.offset)]
    if zone.dst is None:
        return params + [("DST_ENABLE", "N")]
    return params + [("DST_ENABLE", "Y"), ("DST_OFFSET", zone.dst.save),
                     *_dst(zone.dst.start, "DST_START"), *_dst(zone.dst.end, "DST_STOP")]


def standard_format(text: str) -> bytes:
    """Template output (LF) → the bytes the phone reads: CR LF, trailing empty line; refuse any broken rule."""
    lines = [line.rstrip() for line in text.strip("\n").split("\n")]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    problems = check(data)
    if problems:
        raise ValueError("Panasonic configuration breaks the format: " + "; ".join(problems))
    return data


def check(data: bytes) -> list[str]:
    """Every Standard Format rule the file breaks (empty when it is fine)."""
    problems = []
    if not data.startswith(HEADER.encode() + b" ") and not data.startswith(HEADER.encode() + b"\r\n"):
        problems.append("first line is not the Standard Format header")
    if len(data) > MAX_FILE:
        problems.append(f"file is {len(data)} bytes, over {MAX_FILE}")
    if not data.endswith(b"\r\n\r\n"):
        problems.append("file does not end with an empty line")
    body = data[:-2] if data.endswith(b"\r\n") else data
    for number, raw in enumerate(body.split(b"\r\n"), 1):
        if b"\n" in raw or b"\r" in raw:
            problems.append(f"line {number}: bare CR or LF")
        if len(raw) + 2 > MAX_LINE:
            problems.append(f"line {number}: {len(raw) + 2} bytes, over {MAX_LINE}")
        line = raw.decode("utf-8", errors="replace")
        if not line or line.startswith("#"):
            continue
        match = PARAM.match(line)
        if not match:
            problems.append(f"line {number}: not NAME=\"value\"")
        elif len(match.group(1)) > MAX_NAME or len(match.group(2)) > MAX_VALUE:
            problems.append(f"line {number}: name over {MAX_NAME} or value over {MAX_VALUE} characters")
    return problems


def _url(ctx_site: dict, path: str, user: str | None = None, password: str | None = None) -> str:
    prov = ctx_site["prov"]
    base = prov["base_url"]
    if user and prov["http_auth"]:
        scheme, rest = base.split("://", 1)
        # the form the KX-HDV/KX-UT guides give for HTTP auth: http://id:pass@server/…
        base = f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{rest}"
    return f"{base}/{path}"


def staged_url(ctx: dict) -> str:
    """What staging enters as the phone's Standard File URL: its own file, its own login."""
    return _url(ctx["site"], "Config{MAC}.cfg", ctx["http_user"], ctx["http_password"])


def buttons(ctx: dict) -> list[dict]:
    """Every flexible button the file sets: on a KX-UT with keys, its DN keys first (line 1, line 2 …), then the
    site's keys after them, so a BLF key never takes the place of a line the phone needs to dial."""
    model: PhoneModel = ctx["model"]
    ut = model.product.startswith("KX-UT")
    rows = []
    if ut and model.keys:
        lines = [line["index"] for line in ctx["lines"]]
        for n in range(1, max(UT_LINE_KEYS, len(lines)) + 1):
            line = lines[(n - 1) % len(lines)]
            rows.append({"n": n, "act": UT_LINE, "arg": line, "quick": "", "label": ""})
    for key in ctx["keys"]:
        n = len(rows) + 1
        act = UT_LINE if ut and key["type"] == "line" else FACILITIES[key["type"]]
        quick = key["target"] if key["type"] == "speed_dial" else ""
        arg = "" if key["type"] == "speed_dial" else key["target"]
        rows.append({"n": n, "act": act, "arg": arg, "quick": quick, "label": key["label"]})
    return rows


def firmware(ctx: dict) -> list[tuple[str, str]]:
    """Upgrade only to the stated version: the phone compares FIRM_VERSION with what it runs."""
    if not ctx["firmware_url"]:
        return []
    return [("FIRM_UPGRADE_ENABLE", "Y"), ("FIRM_UPGRADE_AUTO", "Y"), ("FIRM_VERSION", ctx["firmware_version"]),
            ("FIRM_FILE_PATH", ctx["firmware_url"])]


def handsets(ctx: dict) -> list[tuple[str, str]]:
    """KX-TGP600: which handsets ring for each line, the lines each handset may call on and its default one."""
    if not ctx["handsets"]:
        return []
    params = []
    for line in ctx["lines"]:
        ringing = [str(h["index"]) for h in ctx["handsets"] if line["index"] in h["lines"]]
        params.append((f"INCOMING_CALL_GROUP_{line['index']}", ",".join(ringing)))
    for handset in ctx["handsets"]:
        params.append((f"OUTGOING_CALL_LINE_HS{handset['index']}", ",".join(str(n) for n in handset["lines"])))
        params.append((f"DEFAULT_LINE_SELECT_HS{handset['index']}", str(handset["outgoing"])))
    return params


def device_files(env: Environment, ctx: dict) -> dict[str, bytes]:
    site = ctx["site"]
    text = env.get_template("panasonic/sip.cfg.j2").render(
        d=ctx, buttons=buttons(ctx), firmware=firmware(ctx), handsets=handsets(ctx),
        standard_url=staged_url(ctx),
        product_url=_url(site, model_name(ctx["model"])))
    return {device_name(ctx["mac"]): standard_format(text)}


def model_files(env: Environment, shared: dict, model: PhoneModel) -> dict[str, bytes]:
    text = env.get_template("panasonic/sip-product.cfg.j2").render(
        site=shared, model=model, time_params=time_params(shared["zone"]),
        standard_url=_url(shared, "Config{MAC}.cfg"), product_url=_url(shared, model_name(model)))
    return {model_name(model): standard_format(text)}
