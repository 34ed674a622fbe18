"""One Ansible run over a fleet build, and its outcome told per site."""

from ..exit_codes import USAGE
from ..plan import secret_values
from ..problems import UserError
from ..run import RunResult, run_playbook
from .build import Fleet, group_name


def limit_pattern(fleet: Fleet, sites: list[str] | None) -> str | None:
    """--limit SITE[,SITE]: the sites' inventory groups (a site name, never a host pattern to guess at)."""
    if not sites:
        return None
    known = [c.site.site.name for c in fleet.sites]
    unknown = [s for s in sites if s not in known]
    if unknown:
        raise UserError([f"--limit: {', '.join(unknown)}: not a site of this fleet ({', '.join(known)})"], USAGE)
    return ",".join(group_name(s) for s in sites)


def run_fleet(fleet: Fleet, playbook: str, check: bool = False, sites: list[str] | None = None,
              quiet: bool = False) -> RunResult:
    return run_playbook(fleet, playbook, check=check, limit=limit_pattern(fleet, sites), quiet=quiet)


def fleet_secrets(fleet: Fleet) -> list[str]:
    found = {value for compiled in fleet.sites for value in secret_values(compiled)}
    return sorted(found, key=len, reverse=True)


def per_site(fleet: Fleet, result: RunResult, sites: list[str] | None = None) -> dict[str, dict]:
    """{site: {hosts, ok, changed, failed, unreachable, state}}: state 'ok', 'failed' or 'skipped' (--limit)."""
    summary = {}
    for compiled in fleet.sites:
        name = compiled.site.site.name
        hosts = {h: c for h, c in result.stats.items() if fleet.site_of(h) == name}
        counts = {key: sum(c.get(stat, 0) for c in hosts.values()) for key, stat in (
            ("ok", "ok"), ("changed", "changed"), ("failed", "failures"), ("unreachable", "unreachable"))}
        failed = counts["failed"] or counts["unreachable"] or any(fleet.site_of(f["host"]) == name
                                                                  for f in result.failures)
        skipped = bool(sites) and name not in sites
        summary[name] = {**counts, "hosts": sorted(hosts),
                         "state": "skipped" if skipped else "failed" if failed else "ok"}
    return summary
