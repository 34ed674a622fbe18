"""The router's configuration: one table per menu, edited the way RouterOS edits it.

Every method takes the lock, so commands from concurrent API sessions apply one at a time, as on
a router. Errors are raised as Trap with the message RouterOS would put in `!trap =message=`.
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from . import defaults, values
from .schema import PathSpec, build_spec

BUILTIN_INTERFACE_LISTS = {"all", "none", "dynamic", "static"}
BUILTIN_QUEUE_TYPES = {
    "default",
    "default-small",
    "ethernet-default",
    "wireless-default",
    "synchronous-default",
    "hotspot-default",
    "pcq-upload-default",
    "pcq-download-default",
    "only-hardware-queue",
    "multi-queue-ethernet-default",
}
INTERFACE_TABLES = ("/interface/ethernet", "/interface/bridge", "/interface/vlan")
INTERFACE_TYPES = {"/interface/ethernet": "ether", "/interface/bridge": "bridge", "/interface/vlan": "vlan"}


class Trap(Exception):
    def __init__(self, message: str, category: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.category = category


@dataclass
class Table:
    entries: list[dict[str, str]] = field(default_factory=list)
    next_id: int = 1

    def new_id(self) -> str:
        ident = f"*{self.next_id:X}"
        self.next_id += 1
        return ident


class RouterState:
    def __init__(
        self,
        tables: dict[str, list[dict[str, str]]] | None = None,
        singles: dict[str, dict[str, str]] | None = None,
        version: str = defaults.DEFAULT_VERSION,
    ) -> None:
        self.version = version
        self.lock = threading.RLock()
        self._specs: dict[str, PathSpec | None] = {}
        self.tables: dict[str, Table] = {}
        self.singles: dict[str, dict[str, str]] = copy.deepcopy(singles) if singles is not None else {}
        for path, entries in (tables or {}).items():
            table = self._table(path)
            for entry in entries:
                stored = dict(entry)
                if ".id" not in stored:
                    stored[".id"] = table.new_id()
                table.entries.append(stored)

    # -- construction and persistence -------------------------------------------------------

    @classmethod
    def default(cls, version: str = defaults.DEFAULT_VERSION) -> RouterState:
        return cls(defaults.default_tables(), defaults.default_singles(), version)

    @classmethod
    def load(cls, path: str | Path) -> RouterState:
        data = json.loads(Path(path).read_text())
        state = cls(singles=data.get("singles", {}), version=data.get("version", defaults.DEFAULT_VERSION))
        for name, table in data.get("tables", {}).items():
            state.tables[name] = Table(entries=table["entries"], next_id=table["next_id"])
        return state

    def dump(self, path: str | Path) -> None:
        with self.lock:
            data = {
                "version": self.version,
                "tables": {n: {"next_id": t.next_id, "entries": t.entries} for n, t in self.tables.items()},
                "singles": self.singles,
            }
            Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")

    def snapshot(self) -> dict[str, list[dict[str, str]]]:
        """Every table as a print would show it (defaults filled), keyed by API path."""
        with self.lock:
            out = {path: self.print(path) for path in self.tables}
            out.update({path: self.print(path) for path in self.singles})
            return out

    # -- lookups ----------------------------------------------------------------------------

    def spec(self, path: str) -> PathSpec | None:
        if path not in self._specs:
            self._specs[path] = build_spec(path, self.version)
        return self._specs[path]

    def _require_spec(self, path: str) -> PathSpec:
        spec = self.spec(path)
        if spec is None:
            raise Trap("no such command prefix")
        return spec

    def _table(self, path: str) -> Table:
        return self.tables.setdefault(path, Table())

    def _find(self, table: Table, ident: str, spec: PathSpec) -> dict[str, str]:
        for entry in table.entries:
            if entry[".id"] == ident:
                return entry
        if not ident.startswith("*"):
            # The API accepts a name where an entry has one ("ether1" for .id).
            for entry in table.entries:
                if entry.get("name") == ident:
                    return entry
        raise Trap("no such item")

    def _resolve(self, path: str, ids: str, spec: PathSpec) -> list[dict[str, str]]:
        table = self._table(path)
        return [self._find(table, ident.strip(), spec) for ident in ids.split(",") if ident.strip()]

    def names(self, kind: str) -> set[str]:
        if kind == "interface":
            return {e["name"] for p in INTERFACE_TABLES for e in self._table(p).entries if "name" in e}
        if kind == "interface-list":
            return {e["name"] for e in self._table("/interface/list").entries} | BUILTIN_INTERFACE_LISTS
        if kind == "queue-parent":
            return self.names("interface") | {e["name"] for e in self._table("/queue/tree").entries} | {"global"}
        if kind == "queue-type":
            return {e["name"] for e in self._table("/queue/type").entries} | BUILTIN_QUEUE_TYPES
        raise KeyError(kind)

    # -- print ------------------------------------------------------------------------------

    def _view(self, spec: PathSpec, entry: dict[str, str]) -> dict[str, str]:
        row: dict[str, str] = {}
        if ".id" in entry:
            row[".id"] = entry[".id"]
        for name, info in spec.fields.items():
            if info.write_only:
                continue
            if name in entry:
                row[name] = entry[name]
            elif info.default is not None:
                row[name] = info.default
        for name, value in entry.items():
            if name != ".id" and name not in spec.fields:
                row[name] = value
        if spec.computed:
            row.update(spec.computed(entry))
        return row

    def _views(self, path: str) -> list[dict[str, str]]:
        if path == "/system/resource":
            return [defaults.resource(self.version)]
        if path == "/system/routerboard":
            return [defaults.routerboard(self.version)]
        if path == "/system/package":
            return [{".id": "*1", "name": "routeros", "version": self.version, "disabled": "false"}]
        if path == "/interface":
            rows = []
            for table_path in INTERFACE_TABLES:
                for entry in self._table(table_path).entries:
                    rows.append(
                        {
                            ".id": entry[".id"],
                            "name": entry["name"],
                            "type": INTERFACE_TYPES[table_path],
                            "running": "true",
                            "disabled": entry.get("disabled", "false"),
                            "comment": entry.get("comment", ""),
                        }
                    )
            return [{k: v for k, v in r.items() if v != "" or k != "comment"} for r in rows]
        raise Trap("no such command prefix")

    def print(self, path: str) -> list[dict[str, str]]:
        with self.lock:
            spec = self._require_spec(path)
            if spec.kind == "view":
                return self._views(path)
            if spec.kind == "single":
                return [self._view(spec, self.singles.get(path, {}))]
            return [self._view(spec, e) for e in self._table(path).entries]

    # -- writes -----------------------------------------------------------------------------

    def _apply(self, spec: PathSpec, entry: dict[str, str], attrs: dict[str, str]) -> None:
        """Validate and merge client attributes into entry (a scratch copy)."""
        for key, raw in attrs.items():
            unset = key.startswith("!")
            name = key[1:] if unset else key
            info = spec.writable(name)
            if info is None:
                raise Trap(f"unknown parameter {key}")
            if unset:
                if not info.can_disable:
                    raise Trap(f"failure: can not unset {name}")
                entry.pop(name, None)
                continue
            value = raw
            if info.normalise is not None:
                try:
                    value = info.normalise(name, raw)
                except values.Refused as exc:
                    raise Trap(str(exc)) from None
            if info.can_disable and info.remove_value is not None and value == info.remove_value:
                entry.pop(name, None)  # e.g. comment="" clears the comment
            else:
                entry[name] = value

    def _check(self, path: str, spec: PathSpec, entry: dict[str, str], skip: dict[str, str] | None) -> None:
        for name in spec.required:
            if not entry.get(name) and spec.fields[name].default is None:
                raise Trap(f"failure: {name} not specified" if name != "name" else "failure: name not specified")
        for field_name, kind in spec.refs.items():
            value = entry.get(field_name)
            if value is None:
                continue
            bare = value[1:] if value.startswith("!") else value
            if bare not in self.names(kind) - ({entry.get("name")} if kind == "queue-parent" else set()):
                raise Trap(f"input does not match any value of {field_name}")
        for keys in spec.unique:
            if not all(k in entry for k in keys):
                continue
            for other in self._table(path).entries:
                if other is skip or other.get(".id") == entry.get(".id"):
                    continue
                if all(other.get(k) == entry[k] for k in keys):
                    if keys == ("name",):
                        raise Trap("failure: item with such name already exists")
                    raise Trap("failure: already have such entry")
        if spec.computed:
            try:
                spec.computed(entry)
            except values.Refused as exc:
                raise Trap(str(exc)) from None

    def add(self, path: str, attrs: dict[str, str]) -> str:
        with self.lock:
            spec = self._require_spec(path)
            if spec.kind != "list" or spec.fixed:
                raise Trap("no such command")
            entry: dict[str, str] = {}
            self._apply(spec, entry, attrs)
            for name, info in spec.fields.items():
                if info.fill_on_add and name not in entry and ("!" + name) not in attrs:
                    entry[name] = info.default or ""
            if spec.on_add:
                spec.on_add(entry)
            self._check(path, spec, entry, None)
            table = self._table(path)
            entry = {".id": table.new_id(), **entry}
            table.entries.append(entry)
            return entry[".id"]

    def set(self, path: str, attrs: dict[str, str]) -> None:
        with self.lock:
            spec = self._require_spec(path)
            attrs = dict(attrs)
            if spec.kind == "view":
                raise Trap("no such command")
            if spec.kind == "single":
                attrs.pop(".id", None)
                entry = dict(self.singles.get(path, {}))
                self._apply(spec, entry, attrs)
                self.singles[path] = entry
                return
            ids = attrs.pop(".id", None)
            if ids is None:
                raise Trap("no such item")
            targets = self._resolve(path, ids, spec)
            staged = []
            for target in targets:
                if target.get("dynamic") == "true":
                    raise Trap("failure: can not change dynamic")
                entry = dict(target)
                self._apply(spec, entry, attrs)
                self._check(path, spec, entry, target)
                staged.append((target, entry))
            for target, entry in staged:  # all or nothing, like one RouterOS command
                target.clear()
                target.update(entry)

    def remove(self, path: str, ids: str) -> None:
        with self.lock:
            spec = self._require_spec(path)
            if spec.kind != "list" or spec.fixed:
                raise Trap("no such command")
            targets = self._resolve(path, ids, spec)
            for target in targets:
                if target.get("dynamic") == "true":
                    raise Trap("failure: can not remove dynamic")
            table = self._table(path)
            table.entries = [e for e in table.entries if all(e is not t for t in targets)]

    def move(self, path: str, numbers: str, destination: str | None) -> None:
        """Place the entries just before `destination`, or at the end when it is not given."""
        with self.lock:
            spec = self._require_spec(path)
            if spec.kind != "list" or spec.fixed:
                raise Trap("no such command")
            moving = self._resolve(path, numbers, spec)
            if any(e.get("dynamic") == "true" for e in moving):
                raise Trap("failure: can not move dynamic")
            target = self._resolve(path, destination, spec)[0] if destination else None
            if target is not None and any(target is m for m in moving):
                return  # placing an entry before itself changes nothing
            table = self._table(path)
            rest = [e for e in table.entries if all(e is not m for m in moving)]
            index = len(rest) if target is None else next(i for i, e in enumerate(rest) if e is target)
            table.entries = rest[:index] + moving + rest[index:]
