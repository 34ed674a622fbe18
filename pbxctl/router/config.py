"""What pbxctl puts on the RouterOS router: one description that both the Ansible role and the .rsc export use.

`router_config(site)` gives, in dependency order, every API path pbxctl owns entries in (with the entries,
possibly none, so that entries dropped from the site are removed) and the few settings pbxctl changes on
entries it does not own (the SIP helper, a user's DHCP network). Values are as RouterOS prints them:
strings, with booleans as bool, so a second run compares equal.
"""

from ipaddress import IPv4Network

from .. import resolve
from ..resolve import OWNED
from ..site import Site
from ..site.catalogue import MODELS
from ..site.phones import normalise_mac

TLS_SIP_PORT = 5061
# Per call and direction, 20 ms packets, with RTP/UDP/IP and Ethernet overhead (kbit/s).
CODEC_KBPS = {"alaw": 87.2, "ulaw": 87.2, "g722": 87.2, "opus": 87.2, "g729": 31.2, "gsm": 36.4}
LINE_SHARE = 0.95  # max-limit under the line rate, so the router (not the modem) holds the queue
VOICE_VLAN_NAME = "pbxctl-voice"
OPTION_SET = "pbxctl-phones"
ELTEX_FILE = "eltex/$MA.tar.gz"

# Paths in the order they are applied; each is always present so removals reach the router.
PATHS = (
    "interface vlan",
    "ip address",
    "ip pool",
    "ip dhcp-server option",
    "ip dhcp-server option sets",
    "ip dhcp-server",
    "ip dhcp-server network",
    "ip firewall address-list",
    "ip firewall mangle",
    "ip firewall filter",
    "queue tree",
    "tool netwatch",
)
ORDERED = {"ip firewall mangle", "ip firewall filter"}


def _c(text: str) -> str:
    return f"{OWNED} {text}"


def voice_kbps(site: Site, calls: int) -> float:
    return calls * max(CODEC_KBPS.get(codec, 87.2) for codec in site.pbx.codecs)


def bps(kbps: float) -> str:
    return str(int(round(kbps * 1000)))


def interval(text: str) -> str:
    """The way RouterOS 7 prints an interval (90s → 1m30s), so netwatch compares equal."""
    seconds = int(text[:-1]) * {"s": 1, "m": 60, "h": 3600}[text[-1]]
    out = ""
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        out += f"{count}{unit}" if count else ""
    return out or "0s"


def pbx_address(site: Site) -> str:
    return resolve.router_pbx_address(site)


def provisioning(site: Site) -> tuple[str, str]:
    """(server address, base URL) as the phone renderer writes them into the files."""
    return resolve.provisioning_server(site), resolve.first_fetch_base(site)


def _tlv(code: int, text: str) -> str:
    data = text.encode()
    return f"{code:02x}{len(data):02x}{data.hex()}"


def dhcp_options(site: Site) -> list[dict]:
    server, base = provisioning(site)
    vendors = {MODELS[p.model].vendor for p in site.phones if p.model in MODELS}
    tftp = "tftp" in site.provisioning.protocols
    # a URL ending in '/' is a directory: the phone appends its own file name (Panasonic: {MODEL}.cfg, Yealink:
    # y000000000000.cfg); without it the URL would be taken as the file itself
    options = [{"name": "pbxctl-66", "code": "66", "value": f"'{server}'" if tftp else f"'{base}/'",
                "comment": _c("provisioning server (option 66)")}]
    if "cisco" in vendors and tftp:
        # Cisco's TFTP server list: an IP address, not a string
        options.append({"name": "pbxctl-150", "code": "150", "value": server,
                        "comment": _c("Cisco TFTP server (option 150)")})
    if "cisco" in vendors and "https" in site.provisioning.protocols:
        options.append({"name": "pbxctl-160", "code": "160", "value": f"'{base}'",
                        "comment": _c("provisioning URL (option 160)")})
    if "eltex" in vendors and site.provisioning.eltex_option43:  # experimental: only when the site opts in
        # vendor-specific sub-options: 5 = server URL, 6 = configuration file (phone_templates/eltex/README.md);
        # the archive carries the device's passwords: only over HTTPS, with the login the device was staged with
        options.append({"name": "pbxctl-43", "code": "43", "value": "0x" + _tlv(5, base) + _tlv(6, ELTEX_FILE),
                        "comment": _c("Eltex auto-update (option 43)")})
    return options


def _voice_vlan(site: Site) -> dict[str, list[dict]]:
    router = site.router
    out: dict[str, list[dict]] = {}
    vlan = router.voice_vlan
    if vlan is None:
        return out
    out["interface vlan"] = [{"name": VOICE_VLAN_NAME, "vlan-id": str(vlan.id), "interface": vlan.interface,
                              "comment": _c(f"voice VLAN {vlan.id}")}]
    # network is printed back, so it is written too (else every run would try to clear it)
    out["ip address"] = [{"address": str(vlan.address), "network": str(vlan.address.network.network_address),
                          "interface": VOICE_VLAN_NAME,
                          "comment": _c("voice VLAN gateway")}]
    network = vlan.address.network
    if router.dhcp_network == network:
        hosts = list(network.hosts())
        first = hosts[min(9, len(hosts) - 1)] if len(hosts) > 20 else hosts[1]
        out["ip pool"] = [{"name": VOICE_VLAN_NAME, "ranges": f"{first}-{hosts[-1]}",
                           "comment": _c("phones on the voice VLAN")}]
        out["ip dhcp-server"] = [{"name": VOICE_VLAN_NAME, "interface": VOICE_VLAN_NAME,
                                  "address-pool": VOICE_VLAN_NAME, "comment": _c("phones on the voice VLAN")}]
        gateway = str(vlan.address.ip)
        out["ip dhcp-server network"] = [{"address": str(network), "gateway": gateway, "dns-server": gateway,
                                          "dhcp-option-set": OPTION_SET, "comment": _c("phones on the voice VLAN")}]
    return out


def _address_lists(site: Site) -> list[dict]:
    router = site.router
    entries = [{"list": "pbxctl-pbx", "address": pbx_address(site), "comment": _c("PBX")}]
    entries += [{"list": "pbxctl-phones", "address": str(n), "comment": _c("phone network")}
                for n in sorted(set(router.phone_networks))]
    hosts = sorted({t.host for t in site.trunks if hasattr(t, "host")})
    networks = sorted({n for t in site.trunks for n in getattr(t, "match", [])})
    # a DNS name is fine here: RouterOS resolves address-list names itself
    entries += [{"list": "pbxctl-trunks", "address": _host(h), "comment": _c(f"SIP trunk {h}")} for h in hosts]
    entries += [{"list": "pbxctl-trunks", "address": _host(str(n)), "comment": _c(f"SIP trunk network {n}")}
                for n in networks if not any(_host(str(n)) == _host(h) for h in hosts)]
    return entries


def _host(text: str) -> str:
    """Address lists print single hosts without /32."""
    return text[:-3] if text.endswith("/32") else text


def _mangle(site: Site) -> list[dict]:
    sip = str(site.pbx.sip_port)
    rtp = f"{site.pbx.rtp_ports.start}-{site.pbx.rtp_ports.end}"
    conn = {"chain": "prerouting", "action": "mark-connection", "connection-mark": "no-mark", "passthrough": True}
    return [
        {**conn, "protocol": "udp", "port": sip, "new-connection-mark": "pbxctl-sip", "comment": _c("SIP over UDP")},
        {**conn, "protocol": "tcp", "port": f"{sip},{TLS_SIP_PORT}", "new-connection-mark": "pbxctl-sip",
         "comment": _c("SIP over TCP and TLS")},
        {**conn, "protocol": "udp", "src-address-list": "pbxctl-pbx", "src-port": rtp,
         "new-connection-mark": "pbxctl-rtp", "comment": _c("RTP from the PBX")},
        {**conn, "protocol": "udp", "dst-address-list": "pbxctl-pbx", "dst-port": rtp,
         "new-connection-mark": "pbxctl-rtp", "comment": _c("RTP to the PBX")},
        # packet marks feed the queue tree; passthrough off so no later rule re-marks voice
        {"chain": "prerouting", "action": "mark-packet", "connection-mark": "pbxctl-sip",
         "new-packet-mark": "pbxctl-sip", "passthrough": False, "comment": _c("SIP packets")},
        {"chain": "prerouting", "action": "mark-packet", "connection-mark": "pbxctl-rtp",
         "new-packet-mark": "pbxctl-rtp", "passthrough": False, "comment": _c("RTP packets")},
        {"chain": "postrouting", "action": "change-dscp", "packet-mark": "pbxctl-rtp", "new-dscp": "46",
         "passthrough": True, "comment": _c("DSCP EF for RTP")},
        {"chain": "postrouting", "action": "change-dscp", "packet-mark": "pbxctl-sip", "new-dscp": "24",
         "passthrough": True, "comment": _c("DSCP CS3 for SIP")},
    ]


def _filter(site: Site) -> list[dict]:
    router = site.router
    sip = str(site.pbx.sip_port)
    rules = []
    if router.sip_filter:
        guard = {"chain": "forward", "action": "drop", "in-interface": router.wan_interface,
                 "dst-address-list": "pbxctl-pbx", "src-address-list": "!pbxctl-trunks"}
        rules += [
            {**guard, "protocol": "udp", "dst-port": sip, "comment": _c("SIP/UDP to the PBX only from trunks")},
            {**guard, "protocol": "tcp", "dst-port": f"{sip},{TLS_SIP_PORT}",
             "comment": _c("SIP/TCP to the PBX only from trunks")},
        ]
    # accepted before fasttrack: fasttracked packets would skip the mangle marks and the queues
    rules += [{"chain": "forward", "action": "accept", "connection-state": "established,related",
               "connection-mark": f"pbxctl-{kind}", "comment": _c(f"{kind.upper()} skips fasttrack")}
              for kind in ("sip", "rtp")]
    return rules


def _queues(site: Site) -> list[dict]:
    router = site.router
    voice = voice_kbps(site, router.expected_calls)
    entries = []
    for side, parent, line in (("upload", router.wan_interface, router.upload_kbps),
                               ("download", router.lan_interface, router.download_kbps)):
        top = line * LINE_SHARE
        name = f"pbxctl-{side}"
        entries += [
            {"name": name, "parent": parent, "max-limit": bps(top), "comment": _c(f"{side} {line} kbit/s line")},
            {"name": f"{name}-voice", "parent": name, "packet-mark": "pbxctl-sip,pbxctl-rtp", "priority": "1",
             "limit-at": bps(min(voice, top)), "max-limit": bps(top),
             "comment": _c(f"{side} voice, {router.expected_calls} calls")},
            {"name": f"{name}-other", "parent": name, "packet-mark": "no-mark", "priority": "8",
             "max-limit": bps(top), "comment": _c(f"{side} everything else")},
        ]
    return entries


def _netwatch(site: Site) -> list[dict]:
    wake = site.router.wake_pbx
    if wake is None or not wake.enabled or not site.pbx.mac:
        return []
    mac = ":".join(normalise_mac(site.pbx.mac)[i:i + 2] for i in range(0, 12, 2)).upper()
    # every field RouterOS prints is written, so the entry compares equal and is not re-created each run
    return [{"host": pbx_address(site), "type": "simple", "interval": interval(wake.interval), "timeout": "1s",
             "up-script": "", "test-script": "", "down-script": f"/tool wol mac={mac} interface={wake.interface}",
             "comment": _c("wake the PBX when it stops answering")}]


def sections(site: Site) -> list[dict]:
    """[{path, order, data}] for every path pbxctl owns entries in; empty when the site has no router."""
    if site.router is None:
        return []
    data = {path: [] for path in PATHS}
    if site.router.dhcp_network or site.router.voice_vlan:
        data["ip dhcp-server option"] = dhcp_options(site)
        data["ip dhcp-server option sets"] = [{"name": OPTION_SET,
                                               "options": ",".join(o["name"] for o in data["ip dhcp-server option"]),
                                               "comment": _c("phone provisioning")}]
    data.update(_voice_vlan(site))
    data["ip firewall address-list"] = _address_lists(site)
    data["ip firewall mangle"] = _mangle(site)
    data["ip firewall filter"] = _filter(site)
    data["queue tree"] = _queues(site)
    data["tool netwatch"] = _netwatch(site)
    return [{"path": path, "order": path in ORDERED, "data": data[path]} for path in PATHS]


def settings(site: Site) -> list[dict]:
    """Changes to entries pbxctl does not own: [{path, find, values}], one field each, never removed."""
    if site.router is None:
        return []
    # the SIP ALG rewrites SIP bodies behind the PBX's back and breaks NAT handling
    out = [{"path": "ip firewall service-port", "find": {"name": "sip"}, "values": {"disabled": True}}]
    router = site.router
    vlan_network = router.voice_vlan.address.network if router.voice_vlan else None
    if router.dhcp_network and router.dhcp_network != vlan_network:
        out.append({"path": "ip dhcp-server network", "find": {"address": str(IPv4Network(router.dhcp_network))},
                    "values": {"dhcp-option-set": OPTION_SET}})
    return out
