"""The model holds every default once; a minimal site gets them all."""

import pytest
from pydantic import ValidationError

from pbxctl.site import Site
from pbxctl.site.phones import normalise_mac

MINIMAL = {"site": {"name": "tiny"}, "pbx": {"host": "192.0.2.10"}}


def site(**sections) -> Site:
    return Site.model_validate({**MINIMAL, **sections})


def test_site_defaults():
    s = site()
    assert (s.site.timezone, s.site.language, s.site.country) == ("Europe/Moscow", "ru", "RU")
    assert s.pbx.ssh_user == "root" and s.pbx.ssh_port == 22 and s.pbx.sip_port == 5060
    assert (s.pbx.rtp_ports.start, s.pbx.rtp_ports.end) == (10000, 20000)
    assert s.pbx.codecs == ["alaw", "ulaw", "g722"]
    assert s.pbx.flavour == "asterisk" and s.pbx.address is None
    assert s.extensions == [] and s.trunks == [] and s.phones == []
    assert s.router is None and s.ups is None and s.crm is None
    assert s.provisioning.protocols == ["tftp", "https"] and s.provisioning.http_auth is True
    assert s.provisioning.https_port == 443
    assert s.provisioning.resync_minutes == 60
    assert s.recording.format == "wav" and s.recording.retention_days == 90
    assert s.cdr.csv is True and s.cdr.webhook is None
    assert s.security.max_outbound_calls == 10
    assert (s.security.fail2ban.maxretry, s.security.fail2ban.findtime, s.security.fail2ban.bantime) == (5, 600, 3600)


def test_mutable_defaults_are_not_shared():
    first, second = site(), site()
    first.pbx.codecs.append("opus")
    first.pbx.local_networks.append("10.0.0.0/8")
    assert second.pbx.codecs == ["alaw", "ulaw", "g722"] and second.pbx.local_networks == []


def test_extension_defaults():
    ext = site(extensions=[{"number": "101", "name": "Anna"}]).extensions[0]
    assert ext.voicemail is True and ext.recording == "never" and ext.max_contacts == 2
    assert ext.email is None and ext.mobile is None


def test_trunk_defaults_per_type():
    s = site(trunks=[
        {"name": "city", "type": "sip_register", "host": "sip.example", "username": "u"},
        {"name": "op", "type": "sip_ip", "host": "198.51.100.7", "match": ["198.51.100.0/24"]},
        {"name": "gsm", "type": "gsm_dongle", "imei": "351451201234567"},
    ])
    reg, ip, gsm = s.trunks
    assert (reg.port, reg.transport, reg.expiration, reg.channels) == (5060, "udp", 300, 2)
    assert reg.inbound_format == "e164" and reg.outbound_format == "e164" and reg.dids == []
    assert ip.username is None and str(ip.match[0]) == "198.51.100.0/24"
    assert gsm.driver == "chan_quectel" and gsm.imsi is None


def test_routing_defaults():
    s = site(
        extensions=[{"number": "101", "name": "Anna"}],
        ring_groups=[{"name": "sales", "members": ["101"]}],
        queues=[{"name": "support", "members": ["101"]}],
        ivrs=[{"name": "main", "prompt": "welcome", "options": [{"digit": "1", "target": "group:sales"}],
               "on_timeout": "extension:101"}],
        schedules=[{"name": "office", "open": [{"days": ["mon"], "from": "09:00", "to": "18:00"}]}],
    )
    group, queue, ivr, schedule = s.ring_groups[0], s.queues[0], s.ivrs[0], s.schedules[0]
    assert (group.strategy, group.ring_time, group.overflow) == ("ringall", 20, None)
    assert (queue.strategy, queue.wrapup, queue.agent_timeout, queue.max_wait, queue.music) == (
        "rrmemory", 10, 15, 300, "default")
    assert (ivr.timeout, ivr.retries, ivr.on_invalid) == (5, 2, None)
    assert (schedule.open[0].start, schedule.open[0].end, schedule.timezone) == ("09:00", "18:00", None)


def test_ups_defaults():
    ups = site(ups={}).ups
    assert ups.name == "ups" and ups.driver == "usbhid-ups" and ups.port == "auto"
    assert ups.shutdown.when == "low_battery" and ups.shutdown.minutes is None
    assert ups.offdelay < ups.ondelay and (ups.offdelay, ups.ondelay, ups.poweroff_wait) == (20, 30, 180)


def test_router_defaults():
    router = site(router={"host": "192.168.10.1", "upload_kbps": 30000, "download_kbps": 30000}).router
    assert router.access == "api" and router.api_port is None and router.tls is True and router.ca_file is None
    assert router.username == "pbxctl" and router.expected_calls == 10 and router.sip_filter is False


@pytest.mark.parametrize("written", ["00:0E:08:D1:00:01", "00-0e-08-d1-00-01", "000e.08d1.0001", "000E08D10001"])
def test_mac_is_normalised(written):
    assert normalise_mac(written) == "000e08d10001"
    phone = site(extensions=[{"number": "101", "name": "A"}],
                 phones=[{"mac": written, "model": "cisco-spa502g", "lines": [{"extension": "101"}]}]).phones[0]
    assert phone.mac == "000e08d10001" and phone.keys == [] and phone.language is None


def test_unknown_keys_are_refused_everywhere():
    with pytest.raises(ValidationError, match="extra"):
        site(pbx={"host": "x", "sip_prot": 1})
    with pytest.raises(ValidationError, match="extra"):
        site(ups={"shutdown": {"when": "low_battery", "delay": 3}})


def _problems(**sections) -> dict[str, str]:
    from pbxctl.site.checks import cross_check

    return {p.dotted: p.message for p in cross_check(site(**sections))}


def _ivr(name: str, on_timeout: str) -> dict:
    return {"name": name, "prompt": "beep", "options": [{"digit": "1", "target": "hangup"}], "on_timeout": on_timeout}


def test_an_ivr_timeout_cycle_is_reported_once_where_it_closes():
    # a → b → c → b: the caller who presses nothing ends up going round b and c
    problems = _problems(ivrs=[_ivr("a", "ivr:b"), _ivr("b", "ivr:c"), _ivr("c", "ivr:b")])
    assert list(problems) == ["ivrs[1].on_timeout"] and "b → c → b" in problems["ivrs[1].on_timeout"]
    assert _problems(ivrs=[_ivr("a", "ivr:b"), _ivr("b", "hangup")]) == {}


@pytest.mark.parametrize(("pattern", "problem"), [
    ("+7XXXXXXXXXX", None), ("+7495XXXXXXX", None), ("+7XXXXXXXXX", "+7XXXXXXXXXX"),
    ("+7495XXXXXX", "+7495XXXXXXX"), ("+1XXXXXXXXX", "+1XXXXXXXXXX"), ("+1XXXXXXXXXX", None),
    ("+49XXXXXXXX", None), ("+375XXXXXXXXX", None), ("+X.", None), ("+XXXXXXXXXXX", None),
])
def test_fixed_patterns_have_a_length_numbers_there_have(pattern, problem):
    from pbxctl.site.checks import e164_pattern_problem

    found = e164_pattern_problem(pattern)
    assert (found is None) == (problem is None), found
    assert problem is None or found.endswith(problem)


def test_the_rtp_range_holds_every_call_leg():
    trunk = {"name": "city", "type": "sip_register", "host": "sip.example", "username": "u", "channels": 30}
    extensions = [{"number": str(100 + i), "name": f"E{i}"} for i in range(20)]
    # 30 channels + 20 extensions = 50 legs, 2 ports each: 100 ports
    assert _problems(pbx={"host": "192.0.2.10", "rtp_ports": {"start": 10000, "end": 10099}}, trunks=[trunk],
                     extensions=extensions) == {}
    problem = _problems(pbx={"host": "192.0.2.10", "rtp_ports": {"start": 10000, "end": 10098}}, trunks=[trunk],
                        extensions=extensions)
    assert "set end to at least 10099" in problem["pbx.rtp_ports.end"]


@pytest.mark.parametrize(("section", "message"), [
    ({"pbx": {"host": "192.0.2.10", "flavour": "freepbx"}}, "not supported yet"),
    ({"pbx": {"host": "192.0.2.10", "codecs": ["opus", "g729"]}}, "no translator"),
    ({"pbx": {"host": "192.0.2.10", "sip_port": 15060}}, "inside rtp_ports"),
    ({"security": {"blocked_prefixes": ["+882XX"]}}, r"write \+882 "),
])
def test_settings_nothing_would_apply_are_refused(section, message):
    with pytest.raises(ValidationError, match=message):
        site(**section)
