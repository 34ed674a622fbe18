"""Plan and idempotent re-apply of the whole example office on one lab server, as a user runs them, against the floor.

    PBXCTL_LAB_INSTANCE=N python bench/bench_apply.py [--quick] [--runs 3]

`pbxctl plan --lab` and `pbxctl apply --lab` (compile included: the wall clock of the command) on the lab's pbx,
after one apply that converges it; alternating with them, the floor: one `ansible -m ping` round trip to the same
server. Figures: seconds (median and range), tasks run and changed per run, and each as a multiple of the ping.
Targets: plan <= 10 s, re-apply <= 10 s with changed=0.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import labsetup
from bench_fleet import ping, spread

SITE = labsetup.ROOT / "inventories" / "example-office" / "site.yml"


def pbxctl(*args: str) -> tuple[float, dict]:
    """One CLI run with --json: its wall clock and its report."""
    started = time.monotonic()
    run = subprocess.run([str(labsetup.VENV_BIN / "pbxctl"), *args, "--lab", "--json", str(SITE)],
                         capture_output=True, text=True, timeout=900)
    seconds = time.monotonic() - started
    if run.returncode not in (0, 2):  # plan's 2: changes pending, with --detailed-exitcode only
        raise RuntimeError(f"pbxctl {' '.join(args)} failed: {run.stdout[-2000:]}{run.stderr[-2000:]}")
    return seconds, json.loads(run.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run of each")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    labsetup.up(["pbx", "carrier"])
    build = labsetup.compiled(SITE)
    host = next(iter(json.loads(subprocess.run(
        [str(labsetup.VENV_BIN / "ansible-inventory"), "--list", "-i", str(build.out_dir / "inventory.yml")],
        capture_output=True, text=True, check=True).stdout)["pbx"]["hosts"]))
    first, report = pbxctl("apply")
    print(f"converging apply: {first:.1f} s, {report['changed']} changed", file=sys.stderr, flush=True)

    figures = {"plan": [], "re-apply": [], "ping": []}
    tasks, changed = {"plan": set(), "re-apply": set()}, {"plan": set(), "re-apply": set()}
    for _ in range(runs):
        for name, command in (("plan", "plan"), ("re-apply", "apply")):
            seconds, report = pbxctl(command)
            figures[name].append(seconds)
            tasks[name].add(report["tasks_run"])
            changed[name].add(report["changed"])
        figures["ping"].append(ping(build, host))
    floor = min(figures["ping"])
    print(f"{'':10} {'seconds':>20} {'tasks':>8} {'changed':>8} {'× ping':>8}  target")
    for name in ("plan", "re-apply"):
        values = figures[name]
        print(f"{name:10} {spread(values):>20} {'/'.join(map(str, sorted(tasks[name]))):>8} "
              f"{'/'.join(map(str, sorted(changed[name]))):>8} {min(values) / floor:8.1f}  <= 10 s")
    print(f"{'ping':10} {spread(figures['ping']):>20}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
