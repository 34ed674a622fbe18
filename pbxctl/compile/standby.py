"""What the standby role is given: the pair's virtual address, what the active node replicates and how often."""

from ..pki import ssh_public_key
from ..secrets import Secrets
from ..site import Site
from .continuity import CDR_CSV, VOICEMAIL


def standby_vars(site: Site) -> dict:
    standby = site.standby
    if standby is None:
        return {"standby__enabled": False}
    network = next(n for n in site.pbx.local_networks if standby.virtual_address in n)
    return {
        "standby__enabled": True,
        "standby__site_name": site.site.name,
        "standby__virtual_address": str(standby.virtual_address),
        "standby__prefix": network.prefixlen,
        "standby__router_id": standby.router_id,
        "standby__sync_seconds": standby.sync_seconds,
        # a mailbox is what the active node has (a deleted message stays deleted); recordings and call records
        # only ever grow there, so nothing the other node holds is removed
        "standby__mirrored_dirs": [VOICEMAIL],
        "standby__added_dirs": list(dict.fromkeys([str(site.recording.path), CDR_CSV])),
    }


def standby_secrets(site: Site, secrets: Secrets) -> dict:
    if site.standby is None:
        return {}
    key = secrets.get("standby", "ssh", "private_key")
    return {"standby__ssh_key": key,
            "standby__ssh_public_key": ssh_public_key(key, f"pbxctl-standby@{site.site.name}")}
