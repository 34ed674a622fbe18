"""Host state after the asterisk role: the service, its SIP port, its configuration's modes and content."""


def test_asterisk_runs_and_starts_at_boot(host):
    service = host.service("asterisk")
    assert service.is_running and service.is_enabled


def test_sip_is_listening_on_the_sites_port(host):
    assert host.socket("udp://0.0.0.0:5060").is_listening


def test_the_manager_interface_is_local_only(host):
    assert not host.socket("tcp://0.0.0.0:5038").is_listening


def test_configuration_is_private_to_asterisk(host):
    for name in ("pjsip.conf", "extensions.conf", "voicemail.conf"):
        config = host.file(f"/etc/asterisk/{name}")
        assert config.is_file and config.mode == 0o640, name
        assert (config.user, config.group) == ("root", "asterisk"), name


def test_each_extension_is_an_endpoint(host):
    pjsip = host.file("/etc/asterisk/pjsip.conf").content_string
    assert "[100](endpoint-common)" in pjsip and "[101](endpoint-common)" in pjsip
    endpoints = host.run("asterisk -rx 'pjsip show endpoints'")
    assert endpoints.rc == 0 and " 100/" in endpoints.stdout and " 101/" in endpoints.stdout


def test_the_site_time_zone_is_set(host):
    assert host.file("/etc/timezone").content_string.strip() == "Europe/Berlin"
