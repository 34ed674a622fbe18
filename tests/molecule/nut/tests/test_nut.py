"""Host state after the nut role: the driver, upsd and upsmon running, the UPS answering, private configs."""


def test_nut_services_run_and_start_at_boot(host):
    for name in ("nut-server", "nut-monitor"):
        service = host.service(name)
        assert service.is_running and service.is_enabled, name


def test_upsd_listens_only_locally_for_a_standalone_ups(host):
    assert host.socket("tcp://127.0.0.1:3493").is_listening
    assert not host.socket("tcp://0.0.0.0:3493").is_listening


def test_the_ups_answers_on_mains(host):
    assert host.check_output("upsc molecule@localhost ups.status").strip() == "OL"


def test_configuration_is_private_to_nut(host):
    for name in ("ups.conf", "upsd.users", "upsmon.conf"):
        config = host.file(f"/etc/nut/{name}")
        assert config.mode == 0o640 and config.group == "nut", name
    assert "[molecule]" in host.file("/etc/nut/ups.conf").content_string
    assert 'SHUTDOWNCMD "/bin/true"' in host.file("/etc/nut/upsmon.conf").content_string
