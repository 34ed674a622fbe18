"""Time the first apply on the lab: a bare server to the first answered call (re-apply and plan: bench_apply.py).

    python bench/bench_lab.py [SITE]      (root; PBXCTL_LAB_INSTANCE picks a lab of its own)

The pbx gets a fresh root from the bare image first, so the first apply installs Asterisk from scratch.
Target: bare → first answered call < 240 s.
"""

import shutil
import sys
import tempfile
import time
from pathlib import Path

from pbxctl import lab
from pbxctl.compile import compile_site, load_with_secrets
from pbxctl.lab.carrier import Carrier
from pbxctl.lab.phone import Phone
from pbxctl.lab.provider import carrier_accounts
from pbxctl.lab.retarget import lab_retarget
from pbxctl.run import run_playbook

TARGETS = {"bare server → first answered call": 240.0}


def main(site_file: Path) -> int:
    work = Path(tempfile.mkdtemp(prefix="pbxctl-bench-"))
    shutil.copy(site_file, work / "site.yml")
    lab.up()
    lab.reset("pbx")
    figures: dict[str, float] = {}
    started = time.monotonic()
    target = lab_retarget()
    site, secrets, _ = load_with_secrets(work / "site.yml", None, target)
    Carrier().configure(carrier_accounts(site, secrets))
    compiled = compile_site(work / "site.yml", work / "build", None, target)
    result = run_playbook(compiled, "pbx.yml", quiet=True)
    if result.returncode:
        print("apply failed:", result.failures)
        return 1
    figures["first apply"] = time.monotonic() - started
    first, second = site.extensions[0].number, site.extensions[1].number
    phones = [Phone(work / f"phone-{n}", n, secrets.section("extensions")[n]["password"], target.pbx_host,
                    auth_user=secrets.section("extensions")[n]["username"]).start() for n in (first, second)]
    try:
        if not all(phone.register() for phone in phones) or not phones[0].call(second).answered:
            print("the first call was not answered")
            return 1
        figures["bare server → first answered call"] = time.monotonic() - started
    finally:
        for phone in phones:
            phone.stop()
    for name, seconds in figures.items():
        limit = TARGETS.get(name)
        verdict = "" if limit is None else f" (target < {limit:.0f} s: {'met' if seconds < limit else 'MISSED'})"
        print(f"{name:<38} {seconds:7.1f} s{verdict}")
    return 0 if all(figures[name] < limit for name, limit in TARGETS.items()) else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else
                  Path(__file__).resolve().parents[1] / "inventories" / "example-office" / "site.yml"))
