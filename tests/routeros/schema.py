"""Which paths exist, which fields each has, and what RouterOS prints for unset fields.

Field lists come from community.routeros' own path data (the fields api_modify knows, for the
emulated RouterOS version), so the double and the module agree on names. What that data does not
say — statistics counters, flags like `dynamic`, values shown even when never set, uniqueness,
references between tables — is added per path below from how RouterOS 7 behaves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ansible_collections.community.routeros.plugins.module_utils._api_data import PATHS

from . import values

Normaliser = Callable[[str, str], str]

# Names RouterOS treats as yes/no even where the collection data gives no boolean default.
BOOLEAN_NAMES = {
    "disabled",
    "log",
    "passthrough",
    "dynamic",
    "invalid",
    "running",
    "use-service-tag",
    "dont-require-permissions",
    "sip-direct-media",
    "force",
    "dns-none",
    "hw-offload",
    "check-certificate",
    "builtin",
    "allow-remote-requests",
    "verify-doh-cert",
    "vlan-filtering",
}

# Mangle actions after which RouterOS shows passthrough=true unless told otherwise.
PASSTHROUGH_ACTIONS = {
    "mark-connection",
    "mark-packet",
    "mark-routing",
    "change-dscp",
    "change-mss",
    "change-ttl",
    "set-priority",
    "strip-ipv4-options",
    "clear-df",
    "sniff-pc",
    "sniff-tzsp",
    "add-dst-to-address-list",
    "add-src-to-address-list",
}


@dataclass(frozen=True)
class Field:
    name: str
    default: str | None = None  # printed when the entry has no value
    fill_on_add: bool = False  # can-disable fields whose default RouterOS sets at creation
    can_disable: bool = False
    remove_value: str | None = None
    read_only: bool = False
    write_only: bool = False
    normalise: Normaliser | None = None


@dataclass
class PathSpec:
    path: str  # "/ip/firewall/filter"
    kind: str  # "list" (entries with .id), "single" (one unnamed entry), "view" (read-only)
    fields: dict[str, Field]
    required: tuple[str, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    fixed: bool = False  # entries can be set but never added or removed
    refs: dict[str, str] = field(default_factory=dict)  # field -> table kind it must name
    computed: Callable[[dict[str, str]], dict[str, str]] | None = None
    on_add: Callable[[dict[str, str]], None] | None = None

    def writable(self, name: str) -> Field | None:
        spec = self.fields.get(name)
        if spec is None or spec.read_only:
            return None
        return spec


@dataclass
class Overlay:
    shown: dict[str, str] = field(default_factory=dict)  # known fields printed even when unset
    read_only: dict[str, str] = field(default_factory=dict)  # counters and flags, never writable
    extra: dict[str, Field] = field(default_factory=dict)  # writable fields missing from the data
    normalise: dict[str, Normaliser] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    fixed: bool = False
    refs: dict[str, str] = field(default_factory=dict)
    computed: Callable[[dict[str, str]], dict[str, str]] | None = None
    on_add: Callable[[dict[str, str]], None] | None = None


def _firewall(extra_shown: dict[str, str] | None = None) -> Overlay:
    return Overlay(
        shown={"action": "accept", "disabled": "false", "log": "false", **(extra_shown or {})},
        read_only={"bytes": "0", "packets": "0", "invalid": "false", "dynamic": "false"},
        required=("chain",),
        refs={
            "in-interface": "interface",
            "out-interface": "interface",
            "in-interface-list": "interface-list",
            "out-interface-list": "interface-list",
        },
    )


def _mangle_on_add(entry: dict[str, str]) -> None:
    if entry.get("action", "accept") in PASSTHROUGH_ACTIONS:
        entry.setdefault("passthrough", "true")


def _ip_address_computed(entry: dict[str, str]) -> dict[str, str]:
    out = {"actual-interface": entry.get("interface", "")}
    if "address" in entry:
        out["network"] = values.network_of(entry["address"])
    return out


def _dhcp_option_computed(entry: dict[str, str]) -> dict[str, str]:
    return {"raw-value": values.dhcp_option_raw(entry.get("value", ""))}


_QUEUE_RATES = ("limit-at", "max-limit", "burst-limit", "burst-threshold")
_MANGLE = _firewall()
_MANGLE.on_add = _mangle_on_add

OVERLAYS: dict[str, Overlay] = {
    "/ip/firewall/filter": _firewall(),
    "/ip/firewall/nat": _firewall(),
    "/ip/firewall/raw": _firewall(),
    "/ip/firewall/mangle": _MANGLE,
    "/ip/firewall/address-list": Overlay(
        shown={"disabled": "false"},
        read_only={"dynamic": "false", "creation-time": "2024-01-01 00:00:00"},
        extra={"timeout": Field("timeout", normalise=values.interval)},
        normalise={"address": values.host_address},
        required=("list", "address"),
        unique=(("list", "address"),),
    ),
    "/ip/firewall/service-port": Overlay(
        shown={"disabled": "false"},
        read_only={"invalid": "false"},
        fixed=True,
    ),
    "/queue/tree": Overlay(
        shown={"disabled": "false", **dict.fromkeys(_QUEUE_RATES, "0")},
        read_only={
            "invalid": "false",
            "bytes": "0",
            "packets": "0",
            "dropped": "0",
            "rate": "0",
            "packet-rate": "0",
            "queued-bytes": "0",
            "queued-packets": "0",
        },
        normalise={**dict.fromkeys(_QUEUE_RATES, values.bandwidth), "burst-time": values.interval},
        required=("name", "parent"),
        unique=(("name",),),
        refs={"parent": "queue-parent", "queue": "queue-type"},
    ),
    "/queue/type": Overlay(required=("name", "kind"), unique=(("name",),)),
    "/interface/vlan": Overlay(
        shown={"disabled": "false", "use-service-tag": "false"},
        read_only={"running": "true", "l2mtu": "1594", "mac-address": "48:8F:5A:00:00:01"},
        required=("name", "interface", "vlan-id"),
        unique=(("name",), ("interface", "vlan-id")),
        refs={"interface": "interface"},
    ),
    "/interface/bridge": Overlay(
        shown={"disabled": "false"},
        read_only={"running": "true", "l2mtu": "1596"},
        required=("name",),
        unique=(("name",),),
    ),
    "/interface/bridge/port": Overlay(
        shown={"disabled": "false"},
        read_only={"inactive": "false", "dynamic": "false"},
        required=("interface", "bridge"),
        unique=(("interface",),),
        refs={"interface": "interface", "bridge": "interface"},
    ),
    "/interface/ethernet": Overlay(
        shown={"disabled": "false"},
        read_only={"running": "true"},
        fixed=True,
    ),
    "/interface/list": Overlay(
        read_only={"builtin": "false", "dynamic": "false"},
        required=("name",),
        unique=(("name",),),
    ),
    "/interface/list/member": Overlay(
        shown={"disabled": "false"},
        read_only={"dynamic": "false"},
        required=("list", "interface"),
        unique=(("list", "interface"),),
        refs={"interface": "interface", "list": "interface-list"},
    ),
    "/ip/address": Overlay(
        shown={"disabled": "false"},
        read_only={"invalid": "false", "dynamic": "false"},
        normalise={"address": values.interface_address},
        required=("address", "interface"),
        unique=(("address", "interface"),),
        refs={"interface": "interface"},
        computed=_ip_address_computed,
    ),
    "/ip/pool": Overlay(required=("name",), unique=(("name",),)),
    "/ip/dhcp-client": Overlay(
        shown={"disabled": "false"},
        read_only={"status": "bound", "dynamic": "false", "invalid": "false"},
        required=("interface",),
        unique=(("interface",),),
        refs={"interface": "interface"},
    ),
    "/ip/dhcp-server": Overlay(
        shown={"disabled": "false"},
        read_only={"dynamic": "false", "invalid": "false"},
        normalise={"lease-time": values.interval},
        required=("name", "interface"),
        unique=(("name",),),
        refs={"interface": "interface"},
    ),
    "/ip/dhcp-server/network": Overlay(
        read_only={"dynamic": "false"},
        required=("address",),
        unique=(("address",),),
    ),
    "/ip/dhcp-server/option": Overlay(
        required=("name", "code"),
        unique=(("name",),),
        computed=_dhcp_option_computed,
    ),
    "/ip/dhcp-server/option/sets": Overlay(required=("name",), unique=(("name",),)),
    "/tool/netwatch": Overlay(
        shown={
            "disabled": "false",
            "interval": "10s",
            "timeout": "1s",
            "up-script": "",
            "down-script": "",
            "test-script": "",
        },
        read_only={"status": "unknown", "since": "", "done-tests": "0", "failed-tests": "0"},
        normalise={
            "interval": values.interval,
            "timeout": values.interval,
            "start-delay": values.interval,
            "startup-delay": values.interval,
        },
        required=("host",),
    ),
    "/system/script": Overlay(
        shown={"owner": "admin", "dont-require-permissions": "false"},
        read_only={"run-count": "0", "invalid": "false", "last-started": ""},
        required=("name",),
        unique=(("name",),),
    ),
    "/system/scheduler": Overlay(
        shown={"disabled": "false", "owner": "admin", "start-time": "startup", "start-date": ""},
        read_only={"run-count": "0", "next-run": ""},
        normalise={"interval": values.interval},
        required=("name",),
        unique=(("name",),),
    ),
}

# Paths RouterOS has but api_modify does not manage: printed only.
VIEWS: dict[str, tuple[str, ...]] = {
    "/system/resource": (),
    "/system/routerboard": (),
    "/system/package": (),
    "/interface": (),
}


def _field_from_keyinfo(name: str, info, overlay: Overlay) -> Field:
    default = None if info.default is None else values.to_wire(info.default)
    remove_value = None if info.remove_value is None else values.to_wire(info.remove_value)
    shown = overlay.shown.get(name)
    boolean = isinstance(info.default, bool) or isinstance(info.remove_value, bool) or name in BOOLEAN_NAMES
    integer = isinstance(info.default, int) and not isinstance(info.default, bool)
    normalise = overlay.normalise.get(name)
    if normalise is None and boolean:
        normalise = values.boolean
    elif normalise is None and integer:
        normalise = values.integer
    fill_on_add = info.can_disable and default is not None
    return Field(
        name=name,
        # Unset can-disable fields are simply absent from a print; others show their default.
        default=shown if shown is not None else (None if info.can_disable else default),
        fill_on_add=fill_on_add,
        can_disable=info.can_disable,
        remove_value=remove_value,
        read_only=info.read_only,
        write_only=info.write_only,
        normalise=normalise,
    )


def build_spec(path: str, version: str) -> PathSpec | None:
    """The spec for an API path such as "/ip/firewall/filter", or None when RouterOS has no such menu."""
    if path in VIEWS:
        return PathSpec(path=path, kind="view", fields={})
    api_data = PATHS.get(tuple(path.strip("/").split("/")))
    if api_data is None:
        return None
    supported, _ = api_data.provide_version(version)
    if not supported:
        return None
    data = api_data.get_data()
    overlay = OVERLAYS.get(path, Overlay())
    fields = {name: _field_from_keyinfo(name, info, overlay) for name, info in data.fields.items()}
    for name, extra in overlay.extra.items():
        fields.setdefault(name, extra)
    for name, default in overlay.read_only.items():
        fields.setdefault(name, Field(name, default=default, read_only=True))
    for name, default in overlay.shown.items():
        fields.setdefault(
            name, Field(name, default=default, normalise=values.boolean if name in BOOLEAN_NAMES else None)
        )
    kind = "single" if data.single_value else "list"
    required = overlay.required or tuple(n for n, i in data.fields.items() if i.required)
    return PathSpec(
        path=path,
        kind=kind,
        fields=fields,
        required=required,
        unique=overlay.unique,
        fixed=overlay.fixed or data.fixed_entries,
        refs=overlay.refs,
        computed=overlay.computed,
        on_add=overlay.on_add,
    )
