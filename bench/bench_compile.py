"""Compile and render scaling: offices of 100, 1,000 and 10,000 extensions and phones, seconds and cost per unit.

    python bench/bench_compile.py [--quick] [--runs N] [--sizes 100,1000,10000] [--profile]

For each size (bench/benchsite.py's generated office: N extensions, N phones, a ring group per 25, a trunk per 50
with 10 DIDs each routed): the first compile (which also generates every secret), then medians of warm runs with
the secrets in place: validate alone, phone files alone (render + write), compile into the build directory, and
compile into a new directory. Per-unit cost (ms per extension+phone pair) shows whether growth is linear.
Target: compile of 1,000 < 0.5 s.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

import benchsite

from pbxctl.compile import compile_site, load_with_secrets
from pbxctl.load import load_site
from pbxctl.phones.render import write_phones

TARGET = (1000, 0.5)


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def median(runs: int, action) -> tuple[float, float, float, float]:
    """Wall seconds (median, min, max) and the median of this process's CPU seconds: on a shared machine the
    wall clock includes waiting for a core, the CPU time does not."""
    times, cpu = [], []
    for _ in range(runs):
        start = time.process_time()
        times.append(timed(action))
        cpu.append(time.process_time() - start)
    return statistics.median(times), min(times), max(times), statistics.median(cpu)


def measure(size: int, runs: int, root: Path) -> dict[str, object]:
    site_file = benchsite.write(benchsite.office(size, size, name=f"bench-{size}"), root / f"site-{size}")
    out = root / f"out-{size}"
    first = timed(lambda: compile_site(site_file, out))
    site, secrets, _ = load_with_secrets(site_file)
    figures = {
        "size": size,
        "first": first,
        "validate": median(runs, lambda: load_site(site_file)),
        "phones": median(runs, lambda: write_phones(site, secrets, out / "phones")),
        "compile": median(runs, lambda: compile_site(site_file, out)),
        "fresh": median(runs, lambda: compile_site(site_file, Path(tempfile.mkdtemp(dir=root)))),
        "files": sum(1 for p in out.rglob("*") if p.is_file()),
    }
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 only, 3 runs")
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--runs", type=int, default=5, help="warm runs per figure (10,000: at most 3)")
    parser.add_argument("--profile", action="store_true", help="profile one warm compile of 1,000, print the top 25")
    args = parser.parse_args()
    sizes = [100, 1000] if args.quick else [int(s) for s in args.sizes.split(",")]
    runs = 3 if args.quick else args.runs
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for size in sizes:
            rows.append(measure(size, min(runs, 3) if size >= 10000 else runs, root))
            print(f"measured {size}", file=sys.stderr, flush=True)
        if args.profile:
            site_file = benchsite.write(benchsite.office(1000, 1000, name="bench-1000"), root / "site-1000")
            profile = cProfile.Profile()
            profile.runcall(compile_site, site_file, root / "out-1000")
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    print(f"{'ext+phones':>10} {'files':>6} {'first':>7} {'validate':>9} {'phones':>7} {'compile':>16} "
          f"{'ms/unit':>8} {'cpu':>7} {'new dir':>8}")
    for row in rows:
        compile_median, low, high, cpu = row["compile"]
        print(f"{row['size']:>10} {row['files']:>6} {row['first']:>7.2f} {row['validate'][0]:>9.3f} "
              f"{row['phones'][0]:>7.3f} {compile_median:>7.3f} ({low:.2f}-{high:.2f}) "
              f"{1000 * compile_median / row['size']:>8.3f} {cpu:>7.3f} {row['fresh'][0]:>8.3f}")
    print("seconds; medians of warm runs (range of the compile's); ms/unit = compile ms per extension+phone; "
          "cpu = the compile's CPU seconds; first = first compile, generating every secret")
    target = next((row for row in rows if row["size"] == TARGET[0]), None)
    if target:
        seconds = target["compile"][0]
        print(f"target: compile of {TARGET[0]} < {TARGET[1]} s: {'met' if seconds < TARGET[1] else 'MISSED'} "
              f"({seconds:.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
