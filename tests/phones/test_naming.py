"""File names: each vendor's MAC form, whatever form the site file used."""

from pbxctl.phones import cisco, eltex, panasonic
from pbxctl.site.catalogue import MODELS

from .helpers import render_case


def test_file_names_per_vendor():
    names = set(render_case("office"))
    assert names == {
        # Cisco: per model spa$PSN.cfg, per device spa$MA.xml (lower case)
        "spa502G.cfg", "spa504G.cfg", "spa112.cfg",
        "spa000e08d10001.xml", "spa000e08d10003.xml", "spa000e08d10004.xml",
        # Panasonic: {MODEL}.cfg per model, Config{MAC}.cfg per device (upper case)
        "KX-HDV130.cfg", "KX-TGP600.cfg", "Config080023A10004.cfg", "Config080023A10005.cfg",
        # Eltex: $MA.tar.gz
        "eltex/a8f94be00006.tar.gz", "eltex/a8f94be00007.tar.gz",
        # the site CA's certificate, for phones to trust the HTTPS server
        "pbxctl-ca.pem",
    }


def test_name_helpers():
    assert cisco.bootstrap_name(MODELS["cisco-spa508g"]) == "spa508G.cfg"
    assert cisco.bootstrap_name(MODELS["cisco-spa301"]) == "spa301.cfg"
    assert cisco.bootstrap_name(MODELS["cisco-spa122"]) == "spa122.cfg"
    assert cisco.profile_name("000e08aabbcc") == "spa000e08aabbcc.xml"
    assert panasonic.device_name("0080f0aabbcc") == "Config0080F0AABBCC.cfg"
    assert panasonic.model_name(MODELS["panasonic-kx-hdv230"]) == "KX-HDV230.cfg"
    assert eltex.device_name("a8f94baabbcc") == "eltex/a8f94baabbcc.tar.gz"


def test_every_model_has_a_vendor_and_template():
    from pbxctl.phones.render import TEMPLATES, VENDORS

    for model in MODELS.values():
        assert model.vendor in VENDORS
        assert model.product
        assert any((TEMPLATES / model.vendor).glob(f"{model.family}*.j2"))
