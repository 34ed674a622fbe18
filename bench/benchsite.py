"""Sites the benchmarks run against: the example office grown for load, and generated offices of any size.

Each is written into a directory of the bench's own (bench/sites/<name>/ by default), with secrets generated
on first compile like any site's; the large ones are generated, not kept in git.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from pbxctl.secrets import Secrets, read_secrets, write_secrets

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_OFFICE = ROOT / "inventories" / "example-office" / "site.yml"
SITES = Path(__file__).resolve().parent / "sites"
MODELS = ["cisco-spa502g", "panasonic-kx-hdv130", "eltex-vp-15p", "cisco-spa504g", "yealink-t46u",
          "grandstream-gxp1625"]

# Two providers of 500 channels each (a trunk's maximum): the capacity bench needs up to 800 calls at once.
CAPACITY_TRUNKS = ("bench-a", "bench-b")
IVR_DID = {"bench-a": "+74957770001", "bench-b": "+74958880001"}
BARE_DID = {"bench-a": "+74957770009", "bench-b": "+74958880009"}


def capacity_site() -> dict:
    """The example office as written (guard, bookkeeping, recording policy, its routes), plus two big trunks whose
    DIDs reach an IVR that keeps talking (a long prompt, long timeouts), and DIDs the bench points at a bare
    Answer()/Wait() while it compares."""
    site = yaml.safe_load(EXAMPLE_OFFICE.read_text(encoding="utf-8"))
    site["site"]["name"] = "bench-capacity"
    # 800 calls of two legs' worth of ports each, with room: the office's 1,000 ports hold 500 calls
    site["pbx"]["rtp_ports"] = {"start": 10000, "end": 19999}
    site["trunks"] += [{"name": name, "type": "sip_register", "host": f"sip.{name}.example", "username": name,
                        "dids": [IVR_DID[name], BARE_DID[name]], "channels": 500} for name in CAPACITY_TRUNKS]
    site["ivrs"] = [{"name": "bench-menu", "prompt": "demo-congrats", "timeout": 20, "retries": 5,
                     "options": [{"digit": "1", "target": "group:sales"}, {"digit": "2", "target": "voicemail:100"}],
                     "on_timeout": "voicemail:100"}]
    site["inbound_routes"] += [{"did": did, "target": "ivr:bench-menu"} for did in IVR_DID.values()]
    site["inbound_routes"] += [{"did": did, "target": "extension:100"} for did in BARE_DID.values()]
    return site


def office(extensions: int, phones: int, name: str = "bench") -> dict:
    """An office of this many extensions and phones, with groups, a queue, trunks and routes in proportion."""
    numbers = [str(10000 + i) for i in range(extensions)]
    groups = [numbers[i:i + 25] for i in range(0, extensions, 25)]
    trunks = [{"name": f"city{i}", "type": "sip_register", "host": f"sip{i}.example", "username": f"office{i}",
               "dids": [f"+7495{i:03d}{j:04d}" for j in range(10)], "channels": 10}
              for i in range(max(1, extensions // 50))]
    dids = [did for trunk in trunks for did in trunk["dids"]]
    return {
        "site": {"name": name, "country": "RU", "timezone": "Europe/Moscow"},
        # RTP ports for every call leg the extensions and trunk channels can make (validate counts 2 each)
        "pbx": {"host": "192.0.2.10", "local_networks": ["10.0.0.0/8"],
                "rtp_ports": {"start": 10000, "end": min(65535, 20000 + 2 * (extensions + 10 * len(trunks)))}},
        "extensions": [{"number": n, "name": f"User {n}", "email": f"u{n}@example.ru"} for n in numbers],
        "trunks": trunks,
        "schedules": [{"name": "office", "open": [{"days": ["mon", "tue", "wed", "thu", "fri"],
                                                   "from": "09:00", "to": "18:00"}]}],
        "ring_groups": [{"name": f"g{i}", "members": members, "overflow": f"voicemail:{members[0]}"}
                        for i, members in enumerate(groups)],
        "queues": [{"name": "all", "members": numbers[:200]}],
        "inbound_routes": [{"did": did, "target": f"group:g{i % len(groups)}", "schedule": "office",
                            "after_hours": f"voicemail:{numbers[i % extensions]}",
                            "fallback": f"extension:{numbers[i % extensions]}"}
                           for i, did in enumerate(dids)],
        "outbound_routes": [{"name": "russia", "patterns": ["+7XXXXXXXXXX"], "trunks": [t["name"] for t in trunks]}],
        "phones": [phone(i, numbers[i % extensions], numbers[(i + 1) % extensions]) for i in range(phones)],
        "provisioning": {"protocols": ["tftp", "https"], "http_auth": True},
    }


def phone(i: int, line: str, watched: str) -> dict:
    model = MODELS[i % len(MODELS)]
    keys = [{"type": "blf", "extension": watched}] if model in ("cisco-spa504g", "yealink-t46u") else []
    return {"mac": f"00:0e:08:{i // 65536:02x}:{i // 256 % 256:02x}:{i % 256:02x}", "model": model,
            "lines": [{"extension": line}], **({"keys": keys} if keys else {})}


def write(site: dict, directory: Path | None = None) -> Path:
    """site.yml in bench/sites/<name>/ (kept between runs, so its generated secrets are too)."""
    directory = directory or SITES / site["site"]["name"]
    directory.mkdir(parents=True, exist_ok=True)
    site_file = directory / "site.yml"
    text = yaml.safe_dump(site, sort_keys=False, allow_unicode=True)
    if not site_file.exists() or site_file.read_text(encoding="utf-8") != text:
        site_file.write_text(text, encoding="utf-8")
    provider_passwords(site, directory / "secrets.yml")
    return site_file


def provider_passwords(site: dict, path: Path) -> None:
    """What a provider would issue for each registering trunk; everything else pbxctl generates itself."""
    trunks = {t["name"]: {"password": f"provider-{t['name']}"} for t in site.get("trunks", [])
              if t["type"] == "sip_register"}
    secrets = read_secrets(path, None) if path.exists() else Secrets({})
    if all(secrets.get("trunks", name, "password") for name in trunks):
        return
    for name, entry in trunks.items():
        secrets.section("trunks").setdefault(name, {}).update(entry)
    write_secrets(path, secrets, None)
