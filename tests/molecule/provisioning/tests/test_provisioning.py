"""Host state after the provisioning role: the servers it runs, the files it serves and who may read them."""

SERVED = "/srv/pbxctl-phones"


def test_the_phone_files_are_served_and_private(host):
    directory = host.file(SERVED)
    assert directory.is_directory and directory.mode == 0o750 and directory.group == "pbxctl-phones"
    for name in ("spa000e08d10001.xml", "spa303.cfg"):
        served = host.file(f"{SERVED}/{name}")
        assert served.is_file and served.mode == 0o640 and served.group == "pbxctl-phones", name
    assert "<Time_Zone>GMT+01:00</Time_Zone>" in host.file(f"{SERVED}/spa000e08d10001.xml").content_string


def test_https_serves_them(host):
    assert host.service("nginx").is_running
    assert host.socket("tcp://0.0.0.0:443").is_listening


def test_tftp_serves_the_model_files(host):
    assert host.socket("udp://0.0.0.0:69").is_listening or host.socket("udp://:::69").is_listening
    assert "table inet pbxctl_provisioning" in host.check_output("nft list tables")
