"""Time load + compile of a generated site with 1,000 extensions and 1,000 phones.

    python bench/bench_compile.py [--runs N] [--profile]

Prints the first compile (which also generates every secret), then medians of N warm runs with the secrets
in place: validate alone, compile into the usual build directory (the target: below 0.5 s), the phone files'
share of it, and compile into a fresh directory every time.
"""

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import yaml

from pbxctl.compile import compile_site, load_with_secrets
from pbxctl.load import load_site
from pbxctl.phones.render import write_phones
from pbxctl.secrets import Secrets, write_secrets

TARGET_SECONDS = 0.5
MODELS = ["cisco-spa502g", "panasonic-kx-hdv130", "eltex-vp-15p", "cisco-spa504g"]


def generate(extensions: int = 1000, phones: int = 1000) -> dict:
    numbers = [str(1000 + i) for i in range(extensions)]
    groups = [numbers[i:i + 25] for i in range(0, extensions, 25)]
    trunks = [{"name": f"city{i}", "type": "sip_register", "host": f"sip{i}.example", "username": f"office{i}",
               "dids": [f"+7495{i:03d}{j:04d}" for j in range(10)], "channels": 10} for i in range(20)]
    dids = [did for trunk in trunks for did in trunk["dids"]]
    return {
        "site": {"name": "bench", "country": "RU"},
        "pbx": {"host": "192.0.2.10", "local_networks": ["10.0.0.0/16"]},
        "extensions": [{"number": n, "name": f"User {n}", "email": f"u{n}@example.ru"} for n in numbers],
        "trunks": trunks,
        "schedules": [{"name": "office", "open": [{"days": ["mon", "tue", "wed", "thu", "fri"],
                                                   "from": "09:00", "to": "18:00"}]}],
        "ring_groups": [{"name": f"g{i}", "members": members, "overflow": f"voicemail:{members[0]}"}
                        for i, members in enumerate(groups)],
        "queues": [{"name": "all", "members": numbers[:200]}],
        "inbound_routes": [{"did": did, "target": f"group:g{i % len(groups)}", "schedule": "office",
                            "after_hours": f"voicemail:{numbers[i]}", "fallback": f"extension:{numbers[i]}"}
                           for i, did in enumerate(dids)],
        "outbound_routes": [{"name": "russia", "patterns": ["+7XXXXXXXXXX"], "trunks": [t["name"] for t in trunks]}],
        "phones": [{"mac": f"00:0e:08:{i // 65536:02x}:{i // 256 % 256:02x}:{i % 256:02x}",
                    "model": MODELS[i % len(MODELS)], "lines": [{"extension": numbers[i % extensions]}],
                    **({"keys": [{"type": "blf", "extension": numbers[(i + 1) % extensions]}]}
                       if MODELS[i % len(MODELS)] == "cisco-spa504g" else {})}
                   for i in range(phones)],
        "router": {"host": "10.0.0.1", "upload_kbps": 100000, "download_kbps": 100000},
        "ups": {},
    }


def write_site(directory: Path) -> Path:
    site_file = directory / "site.yml"
    site_file.write_text(yaml.safe_dump(generate(), sort_keys=False), encoding="utf-8")
    provider = Secrets({"trunks": {f"city{i}": {"password": f"provider-{i}"} for i in range(20)},
                        "router": {"api": {"password": "router"}}})
    write_secrets(directory / "secrets.yml", provider, None)
    return site_file


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="profile one warm compile, print the top 25")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        site_file = write_site(root)
        out = root / "out"
        first = timed(lambda: compile_site(site_file, out))
        validate = median(args.runs, lambda: load_site(site_file))
        warm = [timed(lambda: compile_site(site_file, out)) for _ in range(args.runs)]
        fresh = median(args.runs, lambda: compile_site(site_file, Path(tempfile.mkdtemp(dir=root))))
        site, secrets, _ = load_with_secrets(site_file)
        phones = median(args.runs, lambda: write_phones(site, secrets, out / "phones"))
        with mock.patch("pbxctl.compile.write_phones", return_value=[]):
            core = median(args.runs, lambda: compile_site(site_file, out))
        files = sum(1 for p in out.rglob("*") if p.is_file())
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(compile_site, site_file, out)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    result = statistics.median(warm)
    print(f"site: 1000 extensions, 1000 phones, 20 trunks, 200 DIDs; {files} output files")
    print(f"first compile (generates every secret):  {first:.3f} s")
    print(f"validate (load + checks), median:        {validate:.3f} s")
    print(f"compile into build dir, median of {args.runs}:    {result:.3f} s "
          f"(min {min(warm):.3f}, max {max(warm):.3f})")
    print(f"  phone files alone (render + write):    {phones:.3f} s")
    print(f"  everything but the phone files:        {core:.3f} s")
    print(f"compile into a new directory, median:    {fresh:.3f} s (creating ~1,000 files on this disk)")
    print(f"target {TARGET_SECONDS:.1f} s for a compile: {'met' if result < TARGET_SECONDS else 'MISSED'}")
    return 0 if result < TARGET_SECONDS else 1


def median(runs: int, action) -> float:
    return statistics.median(timed(action) for _ in range(runs))


if __name__ == "__main__":
    sys.exit(main())
