"""Eltex VP-12P/VP-15P phones and TAU-1M.IP/TAU-2M.IP gateways: auto-update archives.

What follows Eltex's manuals: the device learns the server and file from DHCP option 43 (sub-options 5 server
URL, 6 configuration file, 7 firmware file) or options 66/67, the file URL may use the macros $MA, $SN, $PN,
and the configuration is a tar.gz archive. What doesn't: the layout inside the archive is Eltex's own export
format, not published; see phone_templates/eltex/README.md for what is guessed and how to check it.

The archive carries the device's passwords, so it is served only over HTTPS to the device's own login (set in its
auto-update settings at staging); DHCP option 43 hands out the HTTPS server, never TFTP.
"""

import struct
import tarfile
import zlib

from jinja2 import Environment

from .timezones import Zone

MEMBER = "pbxctl.cfg"  # unverified: the name the device expects inside the archive


def device_name(mac: str) -> str:
    return f"eltex/{mac}.tar.gz"  # served as <base>/eltex/$MA.tar.gz


def tz_offset(zone: Zone) -> str:
    sign = "-" if zone.offset < 0 else "+"
    return f"GMT{sign}{abs(zone.offset) // 60}:{abs(zone.offset) % 60:02d}"


# gzip's header as GzipFile writes it with no file name and mtime 0: magic, deflate, no flags, time 0, the best
# compression's XFL (2), OS unknown (255)
GZIP_HEADER = b"\x1f\x8b\x08\x00" + struct.pack("<L", 0) + b"\x02\xff"


def archive(member: str, data: bytes) -> bytes:
    """A tar.gz that is the same bytes every time: fixed times, owner and mode, no file name in the gzip header.

    The bytes tarfile.open(mode="w") inside gzip.GzipFile(mtime=0) write, put together directly: the member's
    USTAR header, its data padded to a block, two empty blocks, the whole padded to tar's record; deflated at
    level 9 with a gzip header and trailer (CRC-32, length). A thousand devices' archives cost a third less."""
    info = tarfile.TarInfo(member)
    info.size, info.mtime, info.mode = len(data), 0, 0o640
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    tar = info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "surrogateescape") + data
    tar += b"\0" * (-len(data) % tarfile.BLOCKSIZE) + b"\0" * (2 * tarfile.BLOCKSIZE)
    tar += b"\0" * (-len(tar) % tarfile.RECORDSIZE)
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS, zlib.DEF_MEM_LEVEL, 0)
    body = packer.compress(tar) + packer.flush()
    return GZIP_HEADER + body + struct.pack("<LL", zlib.crc32(tar), len(tar) & 0xFFFFFFFF)


def device_files(env: Environment, ctx: dict) -> dict[str, bytes]:
    site = ctx["site"]
    prov = site["prov"]
    url = f"{prov['base_url']}/eltex/$MA.tar.gz"
    text = env.get_template(f"eltex/{ctx['model'].family}.cfg.j2").render(
        d=ctx, config_url=url, tz=tz_offset(site["zone"]), posix_tz=site["zone"].posix)
    return {device_name(ctx["mac"]): archive(MEMBER, text.encode("utf-8"))}


def model_files(env: Environment, shared: dict, model) -> dict[str, bytes]:
    return {}  # each device names its own archive by MAC; nothing is shared per model
