"""Host state after the security role: the firewall table and its keeper, fail2ban's jails on Asterisk's log."""


def test_the_firewall_is_loaded_and_kept(host):
    assert "table inet pbxctl_security" in host.check_output("nft list tables")
    assert host.service("pbxctl-security-firewall").is_enabled
    guard = host.service("pbxctl-security-guard")
    assert guard.is_running and guard.is_enabled


def test_sip_is_allowed_only_where_the_site_says(host):
    ruleset = host.check_output("nft list table inet pbxctl_security")
    assert "5060" in ruleset and "policy drop" in ruleset


def test_fail2ban_watches_asterisk(host):
    assert host.service("fail2ban").is_running
    jails = host.check_output("fail2ban-client status")
    assert "pbxctl-asterisk" in jails
    jail = host.file("/etc/fail2ban/jail.d/pbxctl.local")
    assert jail.mode == 0o644 and "[pbxctl-asterisk]" in jail.content_string
