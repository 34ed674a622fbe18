"""Grandstream GXP/GRP desk phones and HT80x adapters: `cfg<mac>.xml`, P-values inside <gs_provision>.

The device asks its Config Server Path for cfg<mac>.xml (lower-case MAC) with the HTTP(S) user and password entered
at staging; the file carries its accounts, admin password and that same login (P1360/P1361), over HTTPS (P212 2).
Account 1 has its own P-numbers (P271, P47, P35 …); account n ≥ 2 uses P<n+2>01 … P<n+2>26, as the Wazo plugin
writes them. Programmable keys are not rendered (their P-numbers differ by model and firmware). Names and
formats: phone_templates/grandstream/reference.yml.
"""

import re

from jinja2 import Environment

from ..site.catalogue import PhoneModel


def device_name(mac: str) -> str:
    return f"cfg{mac}.xml"


def _account(index: int) -> dict[str, str]:
    if index == 1:
        return {"active": "P271", "name": "P270", "server": "P47", "user": "P35", "auth": "P36", "password": "P34",
                "display": "P3", "voicemail": "P33", "sip_reset": "P26015"}
    base = index + 2
    return {"active": f"P{base}01", "name": f"P{base}17", "server": f"P{base}02", "user": f"P{base}04",
            "auth": f"P{base}05", "password": f"P{base}06", "display": f"P{base}07", "voicemail": f"P{base}26",
            "sip_reset": f"P26{base}15"}


def accounts(ctx: dict) -> list[list[tuple[str, object]]]:
    pbx = ctx["site"]["pbx"]
    server = pbx["address"] + (f":{pbx['port']}" if pbx["port"] != 5060 else "")
    result = []
    for line in ctx["lines"]:
        p = _account(line["index"])
        values = [(p["active"], 1), (p["name"], line["display_name"]), (p["server"], server),
                  (p["user"], line["extension"]), (p["auth"], line["auth_user"]), (p["password"], line["password"]),
                  (p["display"], line["display_name"]),
                  (p["sip_reset"], 1)]  # accept the resync NOTIFY (pbxctl phones resync)
        if ctx["voicemail"] and line["index"] == 1:
            values.append((p["voicemail"], ctx["voicemail"]))
        result.append(values)
    return result


def self_defined_zone(posix: str) -> str:
    """P246 takes a POSIX TZ with alphabetic zone names (MTZ+6MDT+5,M4.1.0,M11.1.0): '<+03>' names become STD/DST."""
    names = iter(("STD", "DST"))
    return re.sub(r"<[^>]*>", lambda _: next(names), posix)


def config_path(ctx: dict) -> str:
    """Config Server Path: host[:port][/path], no scheme (P212 says HTTPS)."""
    return ctx["site"]["prov"]["base_url"].split("://", 1)[1]


def device_files(env: Environment, ctx: dict) -> dict[str, bytes]:
    firmware = None
    if ctx["firmware_url"]:
        firmware = ctx["firmware_url"].split("://", 1)[1].rsplit("/", 1)[0]  # a directory: the device picks its file
    text = env.get_template("grandstream/cfg.xml.j2").render(
        d=ctx, accounts=accounts(ctx), config_path=config_path(ctx), firmware_path=firmware,
        posix_tz=self_defined_zone(ctx["site"]["zone"].posix))
    return {device_name(ctx["mac"]): text.encode("utf-8")}


def model_files(env: Environment, shared: dict, model: PhoneModel) -> dict[str, bytes]:
    return {}  # each device asks for its own file by MAC first; nothing is shared per model
