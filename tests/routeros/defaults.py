"""The configuration a small office's hEX (RB750Gr3) has after defconf and a little local care.

Values are wire strings, as RouterOS prints them. The user's own rules (no `pbxctl:` comment) are
what a run must leave alone.
"""

from __future__ import annotations

DEFAULT_VERSION = "7.16.2"

USER_COMMENTS = (
    "allow winbox from office admins",
    "isolate guest wifi",
    "clamp MSS on WAN",
    "admin laptop",
)


def _ethernet(index: int) -> dict[str, str]:
    mac = f"48:8F:5A:11:22:{index:02X}"
    name = f"ether{index}"
    return {"default-name": name, "name": name, "mac-address": mac, "orig-mac-address": mac, "l2mtu": "1596"}


def _rule(**fields: str) -> dict[str, str]:
    return {key.replace("_", "-"): value for key, value in fields.items()}


FILTER = [
    # RouterOS 7 shows this dynamic rule first; api_modify must skip it and the router refuses edits.
    _rule(
        chain="forward", action="passthrough", comment="special dummy rule to show fasttrack counters", dynamic="true"
    ),
    _rule(
        chain="input",
        action="accept",
        connection_state="established,related,untracked",
        comment="defconf: accept established,related,untracked",
    ),
    _rule(chain="input", action="drop", connection_state="invalid", comment="defconf: drop invalid"),
    _rule(chain="input", action="accept", protocol="icmp", comment="defconf: accept ICMP"),
    _rule(
        chain="input",
        action="accept",
        dst_address="127.0.0.1",
        comment="defconf: accept to local loopback (for CAPsMAN)",
    ),
    _rule(
        chain="input",
        action="accept",
        protocol="tcp",
        dst_port="8291",
        src_address_list="office-admins",
        comment="allow winbox from office admins",
    ),
    _rule(chain="input", action="drop", in_interface_list="!LAN", comment="defconf: drop all not coming from LAN"),
    _rule(chain="forward", action="accept", ipsec_policy="in,ipsec", comment="defconf: accept in ipsec policy"),
    _rule(chain="forward", action="accept", ipsec_policy="out,ipsec", comment="defconf: accept out ipsec policy"),
    _rule(
        chain="forward",
        action="fasttrack-connection",
        connection_state="established,related",
        hw_offload="true",
        comment="defconf: fasttrack",
    ),
    _rule(
        chain="forward",
        action="accept",
        connection_state="established,related,untracked",
        comment="defconf: accept established,related, untracked",
    ),
    _rule(chain="forward", action="drop", connection_state="invalid", comment="defconf: drop invalid"),
    _rule(
        chain="forward",
        action="drop",
        src_address="192.168.89.0/24",
        dst_address="192.168.88.0/24",
        comment="isolate guest wifi",
    ),
    _rule(
        chain="forward",
        action="drop",
        connection_state="new",
        connection_nat_state="!dstnat",
        in_interface_list="WAN",
        comment="defconf: drop all from WAN not DSTNATed",
    ),
]

SERVICE_PORTS = [
    {"name": "ftp", "ports": "21"},
    {"name": "tftp", "ports": "69"},
    {"name": "irc", "ports": "6667", "disabled": "true"},
    {"name": "h323"},
    {"name": "sip", "ports": "5060,5061", "sip-direct-media": "true", "sip-timeout": "1h"},
    {"name": "pptp"},
    {"name": "rtsp", "ports": "554", "disabled": "true"},
    {"name": "udplite"},
    {"name": "dccp"},
    {"name": "sctp"},
]


def default_tables() -> dict[str, list[dict[str, str]]]:
    """Fresh copies every call: tests mutate what they get."""
    return {
        "/interface/ethernet": [_ethernet(i) for i in range(1, 6)],
        "/interface/bridge": [
            {"name": "bridge", "comment": "defconf", "admin-mac": "48:8F:5A:11:22:02", "auto-mac": "false"},
        ],
        "/interface/bridge/port": [
            {"bridge": "bridge", "interface": f"ether{i}", "comment": "defconf"} for i in range(2, 6)
        ],
        "/interface/list": [{"name": "WAN", "comment": "defconf"}, {"name": "LAN", "comment": "defconf"}],
        "/interface/list/member": [
            {"list": "LAN", "interface": "bridge", "comment": "defconf"},
            {"list": "WAN", "interface": "ether1", "comment": "defconf"},
        ],
        "/interface/vlan": [],
        "/ip/address": [{"address": "192.168.88.1/24", "interface": "bridge", "comment": "defconf"}],
        "/ip/pool": [{"name": "default-dhcp", "ranges": "192.168.88.10-192.168.88.254"}],
        "/ip/dhcp-client": [{"interface": "ether1", "comment": "defconf"}],
        "/ip/dhcp-server": [
            {"name": "defconf", "interface": "bridge", "address-pool": "default-dhcp", "lease-time": "10m"},
        ],
        "/ip/dhcp-server/network": [
            {
                "address": "192.168.88.0/24",
                "gateway": "192.168.88.1",
                "dns-server": "192.168.88.1",
                "comment": "defconf",
            },
        ],
        "/ip/dhcp-server/option": [],
        "/ip/dhcp-server/option/sets": [],
        "/ip/firewall/filter": FILTER,
        "/ip/firewall/nat": [
            _rule(
                chain="srcnat",
                action="masquerade",
                out_interface_list="WAN",
                ipsec_policy="out,none",
                comment="defconf: masquerade",
            ),
        ],
        "/ip/firewall/mangle": [
            _rule(
                chain="forward",
                action="change-mss",
                new_mss="clamp-to-pmtu",
                passthrough="true",
                protocol="tcp",
                tcp_flags="syn",
                out_interface="ether1",
                comment="clamp MSS on WAN",
            ),
        ],
        "/ip/firewall/address-list": [
            {"list": "office-admins", "address": "192.168.88.2", "comment": "admin laptop"},
        ],
        "/ip/firewall/service-port": SERVICE_PORTS,
        "/queue/tree": [],
        "/queue/type": [],
        "/tool/netwatch": [],
        "/system/script": [],
        "/system/scheduler": [],
    }


def default_singles() -> dict[str, dict[str, str]]:
    return {
        "/system/identity": {"name": "MikroTik"},
        "/ip/dns": {"allow-remote-requests": "true"},
    }


def resource(version: str) -> dict[str, str]:
    return {
        "uptime": "1w2d3h4m5s",
        "version": f"{version} (stable)",
        "build-time": "2024-11-12 11:18:43",
        "factory-software": "6.44.6",
        "free-memory": "201326592",
        "total-memory": "268435456",
        "cpu": "MIPS 1004Kc V2.15",
        "cpu-count": "4",
        "cpu-frequency": "880",
        "cpu-load": "3",
        "free-hdd-space": "4526080",
        "total-hdd-space": "16777216",
        "architecture-name": "mmips",
        "board-name": "hEX",
        "platform": "MikroTik",
    }


def routerboard(version: str) -> dict[str, str]:
    return {
        "routerboard": "true",
        "board-name": "hEX",
        "model": "RB750Gr3",
        "serial-number": "HCT08XXXXXX",
        "firmware-type": "mt7621L",
        "factory-firmware": "6.44.6",
        "current-firmware": version,
        "upgrade-firmware": version,
    }
