"""What an action may change in a site before it is compiled: the machines it runs on, the control host's
key, secrets a stand-in provider invents. Compile knows no lab; the lab passes one of these in."""

from typing import Protocol

from ..secrets import Secrets
from ..site import Site


class Overlay(Protocol):
    suffix: str  # of the build directory: build/<site>-<suffix>, so a retargeted build never overwrites the real one

    def site(self, site: Site) -> Site:
        """The site as it runs there (a copy; the one given is left as it was)."""

    def pbx_host_vars(self) -> dict:
        """Inventory variables of the PBX host there (how Ansible reaches it)."""

    def secrets(self, site: Site, secrets: Secrets, missing: list[str]) -> tuple[Secrets, list[str]]:
        """(the secrets compile uses there, what is still missing). It may add what it invents to `secrets`,
        which are saved; what it returns is only used, never saved."""
