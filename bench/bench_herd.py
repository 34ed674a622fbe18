"""Provisioning herd: 1,000 phones fetching their files at once, as after a power cut, over HTTPS and TFTP.

    PBXCTL_LAB_INSTANCE=2 python bench/bench_herd.py [--quick] [--parallel 200] [--runs 3]

The pbx serves a generated office of 1,000 extensions and 1,000 phones (bench/benchsite.py; the PBX part, then
the phones part twice: its files shipped, then a re-apply with nothing to change, both timed). HTTPS: every
device GETs each of its own files with its own login (a TLS connection per request, as a phone opens one),
`--parallel` at a time. TFTP: 1,000 devices each read one of the model-level files TFTP serves, each from a port
of its own. Figures: total seconds, failures (a wrong status or size, no answer). Targets: 1,000 HTTPS fetches
< 5 s, TFTP < 30 s.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys

import benchsite
import fetchers
import labsetup
import yaml

from pbxctl import lab


def served(build_dir) -> tuple[list[tuple[str, str, str, int]], list[tuple[str, int]]]:
    """((path, login, password, size) per device file, (name, size) per TFTP file) from the build."""
    variables = yaml.safe_load((build_dir / "vars.yml").read_text(encoding="utf-8"))
    passwords = yaml.safe_load((build_dir / "secrets.yml").read_text(encoding="utf-8"))["provisioning__http_passwords"]
    phones = build_dir / "phones"
    https = [(f["path"], f["owner"], passwords[f["owner"]], (phones / f["path"]).stat().st_size)
             for f in variables["provisioning__files"] if f["owner"]]
    # the peer: as many GETs of the model-level files, which need no login (nginx checks no password hash)
    public = [f for f in variables["provisioning__files"] if not f["owner"]]
    https += [(public[i % len(public)]["path"], None, None, (phones / public[i % len(public)]["path"]).stat().st_size)
              for i in range(len(https))]
    tftp = [(name, (phones / name).stat().st_size) for name in variables["provisioning__tftp_files"]
            if (phones / name).is_file()]
    return https, tftp


async def https_herd(host: str, port: int, files, parallel: int):
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # the site's own CA; not what is timed
    figures = []
    for with_login in (True, False):
        chosen = [f for f in files if (f[1] is not None) == with_login]
        seconds, results = await fetchers.herd(
            [fetchers.https_get(host, port, path, (login, password) if login else None, context)
             for path, login, password, _ in chosen], parallel)
        figures += [seconds, [f[0] for f, (status, size) in zip(chosen, results, strict=True)
                              if status != 200 or size != f[3]]]
    return figures


async def tftp_herd(host: str, files, devices: int, parallel: int):
    wanted = [files[i % len(files)] for i in range(devices)]
    seconds, results = await fetchers.herd([fetchers.tftp_get(host, name, lab.HOST_ADDRESS) for name, _ in wanted],
                                           parallel)
    failed = [name for (name, size), (status, got) in zip(wanted, results, strict=True)
              if status != "ok" or got != size]
    return seconds, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run")
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=200, help="requests in flight")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-apply", action="store_true", help="the bench site is already applied")
    parser.add_argument("--phones-only", action="store_true", help="apply only the phones part (PBX part is on)")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    labsetup.up(["pbx", "carrier"])
    site_file = benchsite.write(benchsite.office(args.devices, args.devices, name=f"bench-{args.devices}"))
    if not args.no_apply:
        if not args.phones_only:
            print(f"applied the PBX part of a {args.devices}-phone office in {labsetup.apply(site_file):.0f} s",
                  flush=True)
        # the phones part twice: every file shipped (or what differs from the last site), then nothing to do
        first, again = (labsetup.apply(site_file, "provisioning.yml") for _ in range(2))
        print(f"applied its phones part in {first:.1f} s, again (nothing changed) in {again:.1f} s", flush=True)
    build = labsetup.compiled(site_file)
    https, tftp = served(build.out_dir)
    host = lab.hosts(["pbx"])["pbx"].address
    port = yaml.safe_load((build.out_dir / "vars.yml").read_text(encoding="utf-8"))["provisioning__https_port"]
    rows = []
    for run in range(runs):
        https_s, https_failed, open_s, open_failed = asyncio.run(https_herd(host, port, https, args.parallel))
        tftp_s, tftp_failed = asyncio.run(tftp_herd(host, tftp, args.devices, args.parallel))
        rows.append((https_s, len(https_failed), open_s, len(open_failed), tftp_s, len(tftp_failed)))
        print(f"run {run + 1}: HTTPS {len(https) // 2} own files in {https_s:.2f} s, {len(https_failed)} failed "
              f"{https_failed[:3]}; without login {open_s:.2f} s, {len(open_failed)} failed; TFTP {args.devices} "
              f"in {tftp_s:.2f} s, {len(tftp_failed)} failed {tftp_failed[:3]}", flush=True)
    print(f"\n{'run':>3} {'HTTPS login s':>13} {'failed':>6} {'no login s':>10} {'failed':>6} {'TFTP s':>7} "
          f"{'failed':>6}")
    for i, row in enumerate(rows, 1):
        print(f"{i:>3} {row[0]:>13.2f} {row[1]:>6} {row[2]:>10.2f} {row[3]:>6} {row[4]:>7.2f} {row[5]:>6}")
    print(f"{len(https) // 2} device files over HTTPS (own login each, a TLS connection each), as many GETs of "
          f"model-level files without login (the peer), {args.devices} TFTP reads of {len(tftp)} model-level files; "
          f"{args.parallel} in flight. Targets: HTTPS < 5 s, TFTP < 30 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
