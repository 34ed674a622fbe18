"""Call capacity: N concurrent inbound calls from the carrier through the generated dialplan, against a bare one.

    PBXCTL_LAB_INSTANCE=2 python bench/bench_calls.py [--quick] [--steps 50,100,200,400,800] [--hold 20]

The pbx runs the example office grown by two 500-channel trunks whose DIDs reach an IVR (bench/benchsite.py),
applied once. For each N, the carrier (its Asterisk, call files) places N calls, `--rate` a second, each playing
a tone to the PBX and held `--hold` seconds after answer; the PBX plays the IVR's prompt back (two-way media).
Every N runs twice in a row: through the generated dialplan (guard, call bookkeeping, recording policy, IVR),
then through a bare context put in place of both trunks' contexts at runtime (`dialplan add extension`:
Answer, the same prompt, WaitExten), removed again by `dialplan reload`. Figures: peak channels on the PBX,
calls held to the end, failed calls, the PBX Asterisk's CPU over the plateau (from /proc inside the container)
and pbxctl/bare ratios. Steps go up until the first N with a failure (or the time bound, --budget).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import benchsite
import labsetup

from pbxctl import lab

SPOOL_TMP = "/var/spool/asterisk/tmp"
SPOOL_OUTGOING = "/var/spool/asterisk/outgoing"
SPOOL_DONE = "/var/spool/asterisk/outgoing_done"
PROMPT = "demo-congrats"
BARE = ["Answer()", f"Background({PROMPT})", "WaitExten(60)", "Hangup()"]
HELD_LOG = "/var/log/asterisk/bench-held.log"
# The carrier's side of each call, added at runtime: a tone to the PBX for HOLD seconds, then a line in HELD_LOG;
# a call the PBX drops before that never writes it.
CARRIER_HOLD = ["Playtones(425)", "Wait(${HOLD})", f"Set(FILE({HELD_LOG},,,al,u)=${{TAG}})", "Hangup()"]


@dataclass
class Figures:
    calls: int
    mode: str
    peak_channels: int = 0
    held: int = 0  # calls the carrier held for the whole --hold (none dropped by the PBX before)
    failed: int = 0
    cpu: float = 0.0  # the PBX's Asterisk, % of one core over the plateau
    carrier_cpu: float = 0.0
    seconds: float = 0.0
    where: str = ""  # the PBX's most common context:application mid-plateau: which dialplan carried the calls


def sampler(seconds: float) -> str:
    """A loop run inside a machine: every second, the time, Asterisk's channels and its CPU ticks."""
    return (f"pid=$(pidof -s asterisk); end=$(( $(date +%s) + {int(seconds)} )); "
            "while [ $(date +%s) -lt $end ]; do "
            "c=$(asterisk -rx 'core show channels count' | awk '/active channel/{print $1}'); "
            "t=$(awk '{print $14+$15}' /proc/$pid/stat); echo \"$(date +%s.%N) ${c:-0} $t\"; sleep 1; done")


def sample(machine: str, seconds: float, out: list[str]) -> threading.Thread:
    def run() -> None:
        out.extend(lab.ssh_run(machine, sampler(seconds), timeout=seconds + 60, check=False).stdout.splitlines())
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def place_calls(calls: int, rate: int, hold: int, run: str) -> None:
    """Write the call files on the carrier in one go, then release them `rate` a second (a spool picks up a file
    the moment it appears, hence tmp + mv). Calls alternate between the two trunks."""
    first, second = benchsite.CAPACITY_TRUNKS
    body = "\\n".join([
        "Channel: PJSIP/$did@$account", 'CallerID: \\"\\" <+74959990000>', "WaitTime: 30", "MaxRetries: 0",
        "Context: bench-hold", "Extension: answered", "Priority: 1", f"Setvar: TAG={run}-$i", "Setvar: DTMF=",
        f"Setvar: HOLD={hold}", "Archive: yes"])
    script = f"""set -e
rm -f {SPOOL_DONE}/{run}-*; mkdir -p {SPOOL_TMP}/{run}
for i in $(seq 0 {calls - 1}); do
  if [ $((i % 2)) -eq 0 ]; then account={first}; did='{benchsite.IVR_DID[first]}'
  else account={second}; did='{benchsite.IVR_DID[second]}'; fi
  printf "{body}\\n" > {SPOOL_TMP}/{run}/{run}-$i.call
done
chown -R asterisk: {SPOOL_TMP}/{run}
for start in $(seq 0 {rate} {calls - 1}); do
  for i in $(seq $start $((start + {rate} - 1))); do
    [ $i -lt {calls} ] && mv {SPOOL_TMP}/{run}/{run}-$i.call {SPOOL_OUTGOING}/
  done
  sleep 1
done
"""
    lab.ssh_run("carrier", "sh -s", input=script, timeout=120 + calls)


def outcome(run: str) -> tuple[int, int, int]:
    """(completed, failed) call files the carrier archived for this run, and the calls it held to the end."""
    text = lab.ssh_run("carrier", f"grep -h '^Status:' {SPOOL_DONE}/{run}-*.call 2>/dev/null || true; "
                                  f"grep -c '^{run}-' {HELD_LOG} || true").stdout
    return text.count("Completed"), text.count("Failed"), int(text.split()[-1])


def carrier_hold() -> None:
    lab.ssh_run("carrier", f"touch {HELD_LOG} && chown asterisk: {HELD_LOG}")
    for priority, app in enumerate(CARRIER_HOLD, start=1):
        labsetup.cli("carrier", f"dialplan add extension answered,{priority},{app} into bench-hold replace")


def cpu_percent(rows: list[str], start: float, end: float) -> float:
    points = [(float(t), int(ticks)) for t, _, ticks in (row.split() for row in rows if len(row.split()) == 3)]
    inside = [p for p in points if start <= p[0] <= end]
    if len(inside) < 2:
        return 0.0
    (t0, k0), (t1, k1) = inside[0], inside[-1]
    return 100.0 * (k1 - k0) / 100 / (t1 - t0)  # USER_HZ is 100 on Linux


def one_run(calls: int, mode: str, rate: int, hold: int) -> Figures:
    run = f"b{uuid.uuid4().hex[:8]}"
    ramp = -(-calls // rate)
    window = ramp + hold + 30  # the carrier's spool may lag the releases on a loaded machine
    pbx_rows: list[str] = []
    carrier_rows: list[str] = []
    threads = [sample("pbx", window, pbx_rows), sample("carrier", window, carrier_rows)]
    started = time.time()
    seen: list[str] = []
    peek = threading.Timer(ramp + hold / 2, lambda: seen.append(where_calls_are()))
    peek.start()
    place_calls(calls, rate, hold, run)
    peek.join()
    for thread in threads:
        thread.join()
    # every call file is archived once its call ended (or failed to start)
    deadline = time.monotonic() + 60
    completed, failed, held = outcome(run)
    while completed + failed < calls and time.monotonic() < deadline:
        time.sleep(2)
        completed, failed, held = outcome(run)
    figures = Figures(calls, mode, held=held, failed=calls - held, seconds=time.time() - started)
    counts = [(float(r.split()[0]), int(r.split()[1])) for r in pbx_rows if len(r.split()) == 3]
    figures.peak_channels = max((c for _, c in counts), default=0)
    # the plateau, where CPU is read: from the first to the last sample with (nearly) every call up
    level = 0.9 * min(calls, figures.peak_channels)
    top = [t for t, c in counts if c >= level] or [t for t, c in counts if c >= level / 2]
    plateau = (min(top, default=started), max(top, default=started + window))
    figures.cpu = cpu_percent(pbx_rows, *plateau)
    figures.carrier_cpu = cpu_percent(carrier_rows, *plateau)
    figures.where = seen[0] if seen else ""
    lab.ssh_run("carrier", f"rm -rf {SPOOL_TMP}/{run}", check=False)
    wait_idle()
    return figures


def where_calls_are() -> str:
    """'context:Application xN' of most PBX channels now (concise: channel!context!exten!prio!state!app!…)."""
    places = Counter(f"{f[1]}:{f[5]}" for f in (line.split("!") for line in
                                                labsetup.cli("pbx", "core show channels concise").splitlines())
                     if len(f) > 5)
    return " ".join(f"{place} x{n}" for place, n in places.most_common(2))


def wait_idle(timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if labsetup.channels("pbx") == 0 and labsetup.channels("carrier") == 0:
            return
        time.sleep(1)
    lab.ssh_run("pbx", "asterisk -rx 'channel request hangup all'", check=False)
    lab.ssh_run("carrier", "asterisk -rx 'channel request hangup all'", check=False)
    time.sleep(3)


def bare(on: bool) -> None:
    """Put the bare context in place of both trunks' generated ones (runtime only), or restore the files."""
    if not on:
        labsetup.cli("pbx", "dialplan reload")
        return
    for trunk in benchsite.CAPACITY_TRUNKS:
        for priority, app in enumerate(BARE, start=1):
            labsetup.cli("pbx", f"dialplan add extension _[+0-9a-zA-Z].,{priority},{app} "
                                f"into from-trunk-{trunk} replace")


def report(rows: list[tuple[Figures, Figures]]) -> None:
    print(f"\n{'N':>5} | {'pbxctl: peak held fail cpu%':>28} | {'bare: peak held fail cpu%':>26} | "
          f"{'cpu ratio':>9} | {'held ratio':>10} | carrier cpu%")
    for ours, theirs in rows:
        ratio = ours.cpu / theirs.cpu if theirs.cpu else float("nan")
        held = ours.held / theirs.held if theirs.held else float("nan")
        print(f"{ours.calls:>5} | {ours.peak_channels:>11} {ours.held:>4} {ours.failed:>4} {ours.cpu:>6.1f} | "
              f"{theirs.peak_channels:>9} {theirs.held:>4} {theirs.failed:>4} {theirs.cpu:>6.1f} | "
              f"{ratio:>9.2f} | {held:>10.2f} | {ours.carrier_cpu:.0f} / {theirs.carrier_cpu:.0f}")
    print("cpu ratio: pbxctl/bare CPU for the same calls (1.0 = costs the same); held ratio: calls carried "
          "pbxctl/bare (capacity ratio, target >= 0.9 at 200)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 50 and 100 only, 10 s hold")
    parser.add_argument("--steps", default="50,100,200,400,800")
    parser.add_argument("--hold", type=int, default=30, help="seconds each call is held after answer")
    parser.add_argument("--rate", type=int, default=50, help="calls released a second")
    parser.add_argument("--budget", type=float, default=900, help="seconds: no new step starts after this")
    parser.add_argument("--no-apply", action="store_true", help="the bench site is already applied")
    args = parser.parse_args()
    steps = [50, 100] if args.quick else [int(n) for n in args.steps.split(",")]
    hold = 10 if args.quick else args.hold
    begun = time.monotonic()
    labsetup.up(["pbx", "carrier"])
    site_file = benchsite.write(benchsite.capacity_site())
    if not args.no_apply:
        labsetup.apply(site_file)
    labsetup.configure_carrier(site_file)
    for trunk in benchsite.CAPACITY_TRUNKS:
        if not labsetup.registered(trunk):
            print(f"the PBX did not register trunk {trunk} with the carrier")
            return 1
    carrier_hold()
    rows = []
    for calls in steps:
        if time.monotonic() - begun > args.budget:
            print(f"time bound reached before N={calls}")
            break
        ours = one_run(calls, "pbxctl", args.rate, hold)
        bare(True)
        try:
            theirs = one_run(calls, "bare", args.rate, hold)
        finally:
            bare(False)
        rows.append((ours, theirs))
        print(f"N={calls}: pbxctl {ours}\n        bare   {theirs}", flush=True)
        if ours.failed or theirs.failed:
            break
    report(rows)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
