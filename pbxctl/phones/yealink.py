"""Yealink T3x/T4x/T5x desk phones and W-series DECT bases: `key = value` text files.

Files: `y000000000000.cfg`, the common file every model of current firmware asks for first (no secret: provisioning
server, trust of the site CA, time), and `<mac>.cfg` (lower-case MAC) per device, which it asks for next, with the
login it holds from staging (Auto Provision user name and password). The device file carries the accounts, keys,
admin password and that same login. Line keys: registered lines take the first keys, BLF and speed dials follow.
DECT bases: handset.N.* maps handsets to lines.

With `provisioning.yealink_aes`, `<mac>.cfg` is AES-128-ECB encrypted (PKCS#7 padding) with the device's own
16-character key, which the integrator enters at staging as its MAC-oriented AES key: the file on the server and on
the wire is unreadable without it. The key is never served: Yealink's `<mac>_Security.enc` key file wraps it in a
key that is public (CVE-2024-24681), so it would hand the key to anyone who fetched it. The common file holds no
secret and stays plain. Names and formats: phone_templates/yealink/reference.yml.
"""

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from jinja2 import Environment

from ..site.catalogue import PhoneModel
from .timezones import Change, Zone

COMMON = "y000000000000.cfg"
LINE, BLF, SPEED_DIAL = 15, 16, 13  # linekey.N.type values
CODECS = {"alaw": "pcma", "ulaw": "pcmu", "g722": "g722", "g729": "g729", "opus": "opus"}


def device_name(mac: str) -> str:
    return f"{mac}.cfg"


def time_zone(offset: int) -> str:
    sign = "-" if offset < 0 else "+"
    hours, minutes = divmod(abs(offset), 60)
    return f"{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


def _when(change: Change) -> str:
    # month/week of month (5: last)/day of week (1 Sunday … 7 Saturday)/hour, as Wazo's Yealink plugin writes it
    return f"{change.month}/{change.ordinal}/{change.weekday + 1}/{change.minutes // 60}"


def time_params(zone: Zone) -> list[tuple[str, object]]:
    params: list[tuple[str, object]] = [("local_time.time_zone", time_zone(zone.offset))]
    if zone.dst is None:
        return params + [("local_time.summer_time", 0)]
    return params + [("local_time.summer_time", 1), ("local_time.dst_time_type", 1),
                     ("local_time.start_time", _when(zone.dst.start)), ("local_time.end_time", _when(zone.dst.end)),
                     ("local_time.offset_time", zone.dst.save)]


def value(text: object) -> str:
    """One line: the format has no continuation or escaping."""
    return "".join(c for c in str(text) if c >= " " and c != "\x7f")


def line_keys(ctx: dict) -> list[dict]:
    model: PhoneModel = ctx["model"]
    if not model.keys:
        return []
    rows = [{"n": line["index"], "type": LINE, "line": line["index"], "value": "", "label": line["display_name"]}
            for line in ctx["lines"]]
    for key in ctx["keys"]:
        n = len(rows) + 1
        if key["type"] == "line":
            rows.append({"n": n, "type": LINE, "line": key["target"], "value": "", "label": key["label"]})
        else:
            kind = BLF if key["type"] == "blf" else SPEED_DIAL
            rows.append({"n": n, "type": kind, "line": 1, "value": key["target"], "label": key["label"]})
    return rows


def device_files(env: Environment, ctx: dict) -> dict[str, bytes]:
    codecs = [CODECS[c] for c in ctx["site"]["pbx"]["codecs"] if c in CODECS]
    text = env.get_template("yealink/mac.cfg.j2").render(d=ctx, keys=line_keys(ctx), codecs=codecs,
                                                          all_codecs=sorted(set(CODECS.values())))
    data = text.encode("utf-8")
    return {device_name(ctx["mac"]): encrypt(data, ctx["aes_key"]) if ctx["aes_key"] else data}


def encrypt(data: bytes, key: str) -> bytes:
    """AES-128-ECB with PKCS#7 padding, the format a Yealink decrypts with its MAC-oriented AES key."""
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key.encode("ascii")), modes.ECB()).encryptor()
    return encryptor.update(padder.update(data) + padder.finalize()) + encryptor.finalize()


def decrypt(data: bytes, key: str) -> bytes:
    """What the device does with the file (tests read it back this way)."""
    decryptor = Cipher(algorithms.AES(key.encode("ascii")), modes.ECB()).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(decryptor.update(data) + decryptor.finalize()) + unpadder.finalize()


def model_files(env: Environment, shared: dict, model: PhoneModel) -> dict[str, bytes]:
    text = env.get_template("yealink/common.cfg.j2").render(site=shared, time_params=time_params(shared["zone"]))
    return {COMMON: text.encode("utf-8")}
