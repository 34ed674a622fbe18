"""The Ansible inventory of a site: the PBX over SSH, the router driven from the control node."""

from ..site import Site


def pbx_host_name(site: Site) -> str:
    return f"{site.site.name}-pbx"


def standby_host_name(site: Site) -> str:
    return f"{site.site.name}-standby"


# VRRP priorities: the primary wins an election both enter at once; afterwards nopreempt keeps whoever is active
PRIMARY_PRIORITY, STANDBY_PRIORITY = 150, 100


def inventory(site: Site, pbx_vars: dict) -> dict:
    """pbx_vars: how an overlay (the lab) reaches its PBX, on top of the site's own SSH settings."""
    pbx = {
        "ansible_host": site.pbx.host,
        "ansible_user": site.pbx.ssh_user,
        "ansible_port": site.pbx.ssh_port,
        "ansible_python_interpreter": "/usr/bin/python3",
    }
    pbx.update(pbx_vars)
    pbx_hosts = {pbx_host_name(site): pbx}
    if site.standby:  # the same PBX twice: every PBX play applies to both, each knows the other as its peer
        standby = {**pbx, "ansible_host": site.standby.host,
                   "ansible_user": site.standby.ssh_user or site.pbx.ssh_user,
                   "ansible_port": site.standby.ssh_port or site.pbx.ssh_port}
        pbx.update(standby__node="primary", standby__peer=site.standby.host, standby__priority=PRIMARY_PRIORITY)
        standby.update(standby__node="standby", standby__peer=site.pbx.host, standby__priority=STANDBY_PRIORITY)
        pbx_hosts[standby_host_name(site)] = standby
    groups: dict = {
        "pbx": {"hosts": pbx_hosts},
        "provisioning": {"hosts": {name: {} for name in pbx_hosts}},
        "ups": {"hosts": {pbx_host_name(site): {}} if site.ups else {}},
        "router": {"hosts": {}},
    }
    if site.router:
        groups["router"]["hosts"][f"{site.site.name}-router"] = {
            "ansible_connection": "local",
            # the routeros modules run on the control node, with pbxctl's own Python and librouteros
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        }
    return {"all": {"children": groups}}
