"""Render provisioning files for 1,000 generated phones and print how long it took (target < 0.3 s)."""

import sys
import time
from itertools import cycle
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pbxctl.phones.render import render_phones  # noqa: E402
from pbxctl.secrets import Secrets  # noqa: E402
from pbxctl.site import Site  # noqa: E402
from pbxctl.site.catalogue import MODELS  # noqa: E402

PHONES = 1000


def generated_site() -> tuple[Site, Secrets]:
    extensions = [{"number": str(2000 + i), "name": f"User {i}"} for i in range(PHONES * 2)]
    phones = []
    for i, model in zip(range(PHONES), cycle(sorted(MODELS)), strict=False):
        spec = MODELS[model]
        lines = [{"extension": str(2000 + 2 * i + n)} for n in range(min(2, spec.lines))]
        free = spec.keys - (len(lines) if spec.shared_keys else 0)
        keys = [{"type": "blf", "extension": str(2000 + (2 * i + 7 + n) % (PHONES * 2))} for n in range(min(2, free))]
        phones.append({"mac": f"00163e{i:06x}", "model": model, "lines": lines, "keys": keys})
    site = Site.model_validate({
        "site": {"name": "bench", "timezone": "Europe/Berlin"},
        "pbx": {"host": "10.0.0.2"},
        "extensions": extensions,
        "phones": phones,
    })
    secrets = Secrets({
        "extensions": {e.number: {"username": f"u{e.number}x", "password": "p" * 32} for e in site.extensions},
        "phones": {p.mac: {"http_password": "h" * 24} for p in site.phones},
        "admin": {"phones": {"password": "a" * 16}},
    })
    return site, secrets


def main() -> None:
    site, secrets = generated_site()
    start = time.perf_counter()
    render_phones(site, secrets)  # the first run also compiles the templates, once per process
    cold = time.perf_counter() - start
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        files = render_phones(site, secrets)
        runs.append(time.perf_counter() - start)
    best = min(runs)
    print(f"rendered {len(files)} files for {PHONES} phones in {best:.3f} s (best of 5; first run with template "
          f"compilation {cold:.3f} s; target < 0.3 s)")


if __name__ == "__main__":
    main()
