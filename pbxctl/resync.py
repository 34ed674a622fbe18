"""`pbxctl phones resync`: ask phones to fetch their files again, by a SIP NOTIFY their own Asterisk sends.

Each vendor has its own event (see roles/asterisk/templates/etc/asterisk/pjsip_notify.conf.j2). The NOTIFY goes to
the endpoint of the phone's first line, so every device registered on that extension gets it; a device that does
not know the event answers with an error and carries on.
"""

from dataclasses import dataclass
from pathlib import Path

import yaml

from .problems import SiteInvalid
from .site import Site
from .site.catalogue import MODELS
from .site.phones import normalise_mac

# sections of pjsip_notify.conf
NOTIFY = {"cisco": "pbxctl-resync-cisco", "panasonic": "pbxctl-resync-panasonic", "eltex": "pbxctl-resync-eltex",
          "yealink": "pbxctl-resync-yealink", "grandstream": "pbxctl-resync-grandstream"}
SENT = "pbxctl_resync_sent"  # what playbooks/resync.yml reports (set_stats): the MACs a NOTIFY went to
TARGETS_FILE = "resync.yml"  # in the compiled directory; read by playbooks/resync.yml


@dataclass
class ResyncResult:
    returncode: int
    sent: list[str]  # MACs the NOTIFY went to
    not_registered: list[str]  # MACs whose line has no registered contact now
    failures: list[dict]


def targets(site: Site, mac: str | None = None) -> list[dict]:
    """One entry per phone to resync: its MAC, the endpoint (first line's extension) and the notify section."""
    phones = site.phones
    if mac is not None:
        try:
            wanted = normalise_mac(mac)
        except ValueError as error:
            raise SiteInvalid([f"--mac {mac}: {error}"]) from None
        phones = [p for p in phones if p.mac == wanted]
        if not phones:
            raise SiteInvalid([f"--mac {mac}: no phone with this MAC in site '{site.site.name}'"])
    return [{"name": p.mac, "model": p.model, "endpoint": p.lines[0].extension,
             "notify": NOTIFY[MODELS[p.model].vendor]} for p in phones if p.lines]


def resync(site_file: Path, mac: str | None = None, lab: bool = False, vault_option: Path | None = None,
           quiet: bool = False) -> ResyncResult:
    from .compile import compile_site
    from .lab.retarget import lab_retarget
    from .run import run_playbook

    compiled = compile_site(site_file, None, vault_option, lab_retarget() if lab else None)
    phones = targets(compiled.site, mac)
    (compiled.out_dir / TARGETS_FILE).write_text(
        "---\n" + yaml.safe_dump({"resync__phones": phones}, sort_keys=True), encoding="utf-8")
    result = run_playbook(compiled, "resync.yml", quiet=quiet)
    sent = [mac for host in result.data.values() for mac in host.get(SENT, [])]
    failed = {f.get("message", "") for f in result.failures}
    not_registered = [p["name"] for p in phones if p["name"] not in sent] if not failed else []
    return ResyncResult(result.returncode, sent, not_registered, result.failures)
