"""The Ansible inventory of a site: the PBX over SSH, the router driven from the control node."""

from ..site import Site


def pbx_host_name(site: Site) -> str:
    return f"{site.site.name}-pbx"


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
    groups: dict = {
        "pbx": {"hosts": pbx_hosts},
        "provisioning": {"hosts": {pbx_host_name(site): {}}},
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
