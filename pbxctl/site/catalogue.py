"""Known phone and gateway models: what each can hold and which template renders it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class PhoneModel:
    key: str  # as written in site files
    vendor: str  # cisco | panasonic | eltex | yealink | grandstream
    family: str  # template family inside phone_templates/<vendor>/
    lines: int  # SIP accounts the device can register
    keys: int  # programmable line/BLF keys
    http_auth: bool  # can fetch its profile with HTTP credentials
    russian: bool  # has a Russian menu
    product: str = ""  # the name the device reports: $PN / {MODEL}
    # Cisco desk phones have one row of keys: registered lines take the first ones, BLF/speed dial the rest
    shared_keys: bool = False
    handsets: int = 0  # DECT bases: how many handsets register to it
    # the file format is not checked against vendor documentation: validate warns, the router hands out no
    # DHCP option that sends real devices to it unless the site opts in
    experimental: bool = False

    @property
    def cisco_psn(self) -> str:
        """Cisco's $PSN macro: the product name without "SPA" (SPA502G → 502G); names the bootstrap file."""
        return self.product.removeprefix("SPA")


def _m(key, vendor, family, lines, keys, russian, product, shared_keys=False, handsets=0,
       experimental=False) -> PhoneModel:
    return PhoneModel(key, vendor, family, lines, keys, True, russian, product, shared_keys, handsets, experimental)


MODELS: dict[str, PhoneModel] = {
    m.key: m
    for m in (
        _m("cisco-spa301", "cisco", "spa", 1, 0, False, "SPA301"),
        _m("cisco-spa303", "cisco", "spa", 3, 3, False, "SPA303", True),
        _m("cisco-spa502g", "cisco", "spa", 1, 0, False, "SPA502G"),
        _m("cisco-spa504g", "cisco", "spa", 4, 4, False, "SPA504G", True),
        _m("cisco-spa508g", "cisco", "spa", 8, 8, False, "SPA508G", True),
        _m("cisco-spa112", "cisco", "spa", 2, 0, False, "SPA112"),
        _m("cisco-spa122", "cisco", "spa", 2, 0, False, "SPA122"),
        _m("panasonic-kx-hdv100", "panasonic", "sip", 2, 0, True, "KX-HDV100"),
        _m("panasonic-kx-hdv130", "panasonic", "sip", 2, 24, True, "KX-HDV130"),
        _m("panasonic-kx-hdv230", "panasonic", "sip", 6, 24, True, "KX-HDV230"),
        _m("panasonic-kx-tgp600", "panasonic", "sip", 8, 0, True, "KX-TGP600", handsets=8),
        _m("panasonic-kx-ut113", "panasonic", "sip", 2, 0, True, "KX-UT113"),
        _m("panasonic-kx-ut133", "panasonic", "sip", 2, 24, True, "KX-UT133"),
        _m("panasonic-kx-ut136", "panasonic", "sip", 4, 24, True, "KX-UT136"),
        # Yealink: product = what the device reports in its User-Agent; lines take the first line keys
        _m("yealink-t31p", "yealink", "mac", 2, 2, True, "T31P", True),
        _m("yealink-t33g", "yealink", "mac", 4, 4, True, "T33G", True),
        _m("yealink-t46u", "yealink", "mac", 16, 10, True, "T46U", True),
        _m("yealink-t54w", "yealink", "mac", 16, 10, True, "T54W", True),
        _m("yealink-w60b", "yealink", "mac", 8, 0, True, "W60B", handsets=8),
        _m("yealink-w70b", "yealink", "mac", 10, 0, True, "W70B", handsets=10),
        # Grandstream: programmable keys not rendered (their P-numbers differ by model and firmware)
        _m("grandstream-gxp1625", "grandstream", "cfg", 2, 0, True, "GXP1625"),
        _m("grandstream-grp2612", "grandstream", "cfg", 2, 0, True, "GRP2612"),
        _m("grandstream-ht801", "grandstream", "cfg", 1, 0, False, "HT801"),
        _m("grandstream-ht802", "grandstream", "cfg", 2, 0, False, "HT802"),
        _m("eltex-vp-12p", "eltex", "vp", 2, 4, True, "VP-12P", experimental=True),
        _m("eltex-vp-15p", "eltex", "vp", 6, 10, True, "VP-15P", experimental=True),
        _m("eltex-tau-1m-ip", "eltex", "tau", 1, 0, True, "TAU-1M.IP", experimental=True),
        _m("eltex-tau-2m-ip", "eltex", "tau", 2, 0, True, "TAU-2M.IP", experimental=True),
    )
}


def warnings(phones) -> list[str]:
    """What `validate` says about a site's phones without refusing it: models whose files are unverified."""
    seen = sorted({p.model for p in phones if p.model in MODELS and MODELS[p.model].experimental})
    return [f"phones: {key} is experimental: its file format is not verified against the vendor's documentation "
            "(README, 'Phones'); check a real device before relying on it" for key in seen]
