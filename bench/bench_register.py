"""Registrations: 1,000 phones registering with digest auth to the PBX at once, then unregistering.

    PBXCTL_LAB_INSTANCE=2 python bench/bench_register.py [--quick] [--count 1000] [--parallel 200] [--runs 3]

The pbx gets a generated office of --count extensions (bench/benchsite.py, applied with the PBX part only).
A bounded generator (bench/sipreg.py: one UDP socket, `--parallel` transactions in flight, RFC 3261's timers:
T1 500 ms doubling to T2 4 s, given up when Timer F fires at 32 s) registers every extension with its own
credentials (REGISTER, 401, REGISTER with the digest, 200), then unregisters them. A failure is a transaction
with no final answer within Timer F, a 401 to the authorised request, or a 3xx-6xx final answer, counted by kind.
Figures: seconds, failures, contacts the PBX holds afterwards, and the PBX's memory (Asterisk's resident set and
every process's PSS in the machine) before, with every phone registered, and after.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter

import benchsite
import labsetup
import sipreg

from pbxctl import lab
from pbxctl.compile import load_with_secrets
from pbxctl.lab.retarget import lab_retarget


def memory() -> tuple[int, int]:
    """(Asterisk's VmRSS, the proportional set size of every process in the machine) in MiB. The lab's machines
    have no memory cgroup of their own (systemd-nspawn runs in the host's, shared with all else there, and the
    container's cgroup v2 tree has no memory controller): the processes' PSS is what the machine holds."""
    out = lab.ssh_run("pbx", "awk '/VmRSS/{print $2}' /proc/$(pidof -s asterisk)/status; "
                             "cat /proc/[0-9]*/smaps_rollup 2>/dev/null | awk '/^Pss:/{s+=$2} END{print s}'",
                      check=False).stdout.split()
    rss, pss = (int(value) for value in (out + ["0", "0"])[:2])
    return rss // 1024, pss // 1024


def contacts() -> int:
    out = labsetup.cli("pbx", "database show registrar/contact")
    return sum(1 for line in out.splitlines() if line.startswith("/registrar/contact/"))


def accounts(site_file, count: int) -> list[sipreg.Account]:
    site, secrets, _ = load_with_secrets(site_file, None, lab_retarget())
    entries = secrets.section("extensions")
    return [sipreg.Account(e.number, entries[e.number]["username"], entries[e.number]["password"])
            for e in site.extensions[:count]]


def failed(results: list[str]) -> str:
    """'N failed' and how many of each kind (timeout, challenged again, a final status)."""
    kinds = Counter(r for r in results if r != "ok")
    return f"{sum(kinds.values())} failed" + (f" ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))})"
                                              if kinds else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 phones, one run")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=200, help="transactions in flight")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-apply", action="store_true", help="the bench site is already applied")
    args = parser.parse_args()
    count, runs = (200, 1) if args.quick else (args.count, args.runs)
    labsetup.up(["pbx"])
    site_file = benchsite.write(benchsite.office(max(count, 1000), max(count, 1000), name="bench-1000"))
    if not args.no_apply:
        print(f"applied the PBX part of a {max(count, 1000)}-extension office in {labsetup.apply(site_file):.0f} s",
              flush=True)
    phones = accounts(site_file, count)
    server = lab.hosts(["pbx"])["pbx"].address
    rows = []
    for run in range(runs):
        before = memory()
        held: dict[int, tuple[int, tuple[int, int]]] = {}

        def observe(expires: int, held=held) -> None:  # after each phase: what the PBX holds, its memory
            held[expires] = (contacts(), memory())
        phases = asyncio.run(sipreg.register_all(server, 5060, lab.HOST_ADDRESS, phones, args.parallel, [3600, 0],
                                                 observe))
        (reg_s, reg), (unreg_s, unreg) = phases
        rows.append((reg_s, reg, held[3600], unreg_s, unreg, held[0], before))
        print(f"run {run + 1}: {count} registered in {reg_s:.2f} s, {failed(reg)}; PBX holds {held[3600][0]} "
              f"contacts; unregistered in {unreg_s:.2f} s, {failed(unreg)}, {held[0][0]} contacts left", flush=True)
    print(f"\n{'run':>3} {'register s':>10} {'failed':>6} {'contacts':>8} {'unreg s':>8} {'failed':>6} "
          f"{'Asterisk RSS MiB before/registered/after':>41} {'machine PSS MiB':>18}")
    for i, (reg_s, reg, (n, mem_on), unreg_s, unreg, (_, mem_off), before) in enumerate(rows, 1):
        print(f"{i:>3} {reg_s:>10.2f} {sum(r != 'ok' for r in reg):>6} {n:>8} {unreg_s:>8.2f} "
              f"{sum(r != 'ok' for r in unreg):>6} {before[0]:>17} / {mem_on[0]} / {mem_off[0]:<15} "
              f"{before[1]} / {mem_on[1]} / {mem_off[1]}")
    print(f"{count} phones, {args.parallel} in flight, digest auth (2 transactions each); target: 0 failures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
