"""Eltex VP-12P/VP-15P phones and TAU-1M.IP/TAU-2M.IP gateways: auto-update archives.

What follows Eltex's manuals: the device learns the server and file from DHCP option 43 (sub-options 5 server
URL, 6 configuration file, 7 firmware file) or options 66/67, the file URL may use the macros $MA, $SN, $PN,
and the configuration is a tar.gz archive. What doesn't: the layout inside the archive is Eltex's own export
format, not published; see phone_templates/eltex/README.md for what is guessed and how to check it.

The archive carries the device's passwords, so it is served only over HTTPS to the device's own login (set in its
auto-update settings at staging); DHCP option 43 hands out the HTTPS server, never TFTP.
"""

import gzip
import io
import tarfile

from jinja2 import Environment

from .timezones import Zone

MEMBER = "pbxctl.cfg"  # unverified: the name the device expects inside the archive


def device_name(mac: str) -> str:
    return f"eltex/{mac}.tar.gz"  # served as <base>/eltex/$MA.tar.gz


def tz_offset(zone: Zone) -> str:
    sign = "-" if zone.offset < 0 else "+"
    return f"GMT{sign}{abs(zone.offset) // 60}:{abs(zone.offset) % 60:02d}"


def archive(member: str, data: bytes) -> bytes:
    """A tar.gz that is the same bytes every time: fixed times, owner and mode, no file name in the gzip header."""
    buffer = io.BytesIO()
    with (gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as packed,
          tarfile.open(fileobj=packed, mode="w", format=tarfile.USTAR_FORMAT) as tar):
        info = tarfile.TarInfo(member)
        info.size, info.mtime, info.mode = len(data), 0, 0o640
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def device_files(env: Environment, ctx: dict) -> dict[str, bytes]:
    site = ctx["site"]
    prov = site["prov"]
    url = f"{prov['base_url']}/eltex/$MA.tar.gz"
    text = env.get_template(f"eltex/{ctx['model'].family}.cfg.j2").render(
        d=ctx, config_url=url, tz=tz_offset(site["zone"]), posix_tz=site["zone"].posix)
    return {device_name(ctx["mac"]): archive(MEMBER, text.encode("utf-8"))}


def model_files(env: Environment, shared: dict, model) -> dict[str, bytes]:
    return {}  # each device names its own archive by MAC; nothing is shared per model
