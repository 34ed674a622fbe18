"""Several sites: one run applying the PBX part to 5 lab servers against the same run on 1, and the floor.

    PBXCTL_LAB_INSTANCE=2 python bench/bench_fleet.py [--quick] [--runs 3] [--machines pbx,standby,...]

The example office is compiled for the lab once; its inventory then gets a pbx group of several hosts (pbx,
standby, branch-b, branch-c, bench-1: lab machines of the same image), as Ansible runs a fleet from one
inventory. The first run converges every server (from a bare one it installs Asterisk; timed, not compared).
Then, alternating, `--runs` times each: an idempotent re-apply limited to one host, the same on all of them,
a plan (check mode) of one, and the floor, one `ansible -m ping` round trip (one host, then all). Figures: seconds,
changed counts, the ratio all/one, and re-apply as a multiple of the ping.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import statistics
import subprocess
import sys
import time

import labsetup
import yaml

from pbxctl import lab
from pbxctl.run import ansible_env, run_playbook

FLEET = ["pbx", "standby", "branch-b", "branch-c", "bench-1"]
SITE = labsetup.ROOT / "inventories" / "example-office" / "site.yml"


def fleet_build(machines: list[str]):
    """The compiled build, copied, its inventory's pbx group holding one host per machine."""
    build = labsetup.compiled(SITE)
    copy = build.out_dir.with_name(build.out_dir.name + "-fleet")
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(build.out_dir, copy, symlinks=True)
    inventory_file = copy / "inventory.yml"
    inventory = yaml.safe_load(inventory_file.read_text(encoding="utf-8"))
    pbx = inventory["all"]["children"]["pbx"]["hosts"]
    (name, template), = pbx.items()
    addresses = lab.hosts(machines)
    hosts = {f"{name}-{machine}": {**template, "ansible_host": addresses[machine].address} for machine in machines}
    inventory["all"]["children"]["pbx"]["hosts"] = hosts
    for group in inventory["all"]["children"].values():  # the other groups name the PBX host too: keep it first
        if group is not inventory["all"]["children"]["pbx"] and name in (group.get("hosts") or {}):
            group["hosts"] = {first: {} for first in list(hosts)[:1]}
    inventory_file.write_text(yaml.safe_dump(inventory, sort_keys=False), encoding="utf-8")
    return dataclasses.replace(build, out_dir=copy), list(hosts)


def apply(build, limit: str | None, check: bool = False) -> tuple[float, int]:
    started = time.monotonic()
    result = run_playbook(build, "pbx.yml", check=check, limit=limit, quiet=True)
    seconds = time.monotonic() - started
    if result.returncode:
        raise RuntimeError(f"apply (limit {limit}) failed: {result.failures}")
    return seconds, result.changed


def ping(build, limit: str) -> float:
    started = time.monotonic()
    run = subprocess.run([shutil.which("ansible", path=str(labsetup.VENV_BIN)) or "ansible", limit, "-m", "ping",
                          "-i", "inventory.yml"], cwd=build.out_dir, env={**ansible_env(build.out_dir),
                                                                          "ANSIBLE_STDOUT_CALLBACK": "minimal"},
                         capture_output=True, text=True, timeout=120)
    if run.returncode:
        raise RuntimeError(f"ansible -m ping {limit} failed: {run.stdout[-2000:]}")
    return time.monotonic() - started


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):6.1f} ({min(values):.1f}-{max(values):.1f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run of each")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--machines", default=",".join(FLEET))
    args = parser.parse_args()
    machines = args.machines.split(",")
    runs = 1 if args.quick else args.runs
    labsetup.up(["pbx", "carrier", *machines])
    labsetup.configure_carrier(SITE)
    build, hosts = fleet_build(machines)
    converge, changed = apply(build, None)
    print(f"first run on {len(hosts)} servers: {converge:.0f} s, {changed} changed", flush=True)
    figures: dict[str, list[float]] = {"re-apply, 1 server": [], f"re-apply, {len(hosts)} servers": [],
                                       "plan, 1 server": [], "ansible -m ping, 1 server": [],
                                       f"ansible -m ping, {len(hosts)} servers": []}
    changes = []
    for _ in range(runs):
        seconds, changed = apply(build, hosts[0])
        figures["re-apply, 1 server"].append(seconds)
        changes.append(changed)
        seconds, changed = apply(build, None)
        figures[f"re-apply, {len(hosts)} servers"].append(seconds)
        changes.append(changed)
        figures["plan, 1 server"].append(apply(build, hosts[0], check=True)[0])
        figures["ansible -m ping, 1 server"].append(ping(build, hosts[0]))
        figures[f"ansible -m ping, {len(hosts)} servers"].append(ping(build, "pbx"))
    print(f"\n{'':<28} {'seconds: median (range)':>24}")
    for name, values in figures.items():
        print(f"{name:<28} {spread(values):>24}")
    one, many = (statistics.median(figures[k]) for k in ("re-apply, 1 server", f"re-apply, {len(hosts)} servers"))
    floor = statistics.median(figures["ansible -m ping, 1 server"])
    print(f"ratio {len(hosts)} servers / 1: {many / one:.2f} (1.0: the fleet costs what one server does; "
          f"{len(hosts)}.0: no parallelism)")
    print(f"re-apply of 1 server = {one / floor:.0f} x one ansible -m ping ({floor:.2f} s); "
          f"plan = {statistics.median(figures['plan, 1 server']) / floor:.0f} x")
    print(f"changed on the idempotent re-applies: {changes} (expected all 0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
