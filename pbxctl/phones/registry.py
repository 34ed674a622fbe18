"""Known phone and gateway models: what each can hold and which template renders it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class PhoneModel:
    key: str  # as written in site files
    vendor: str  # cisco | panasonic | eltex
    family: str  # template family inside phone_templates/<vendor>/
    lines: int  # SIP accounts the device can register
    keys: int  # programmable line/BLF keys
    http_auth: bool  # can fetch its profile with HTTP credentials
    russian: bool  # has a Russian menu


MODELS: dict[str, PhoneModel] = {
    m.key: m
    for m in (
        PhoneModel("cisco-spa301", "cisco", "spa", 1, 0, True, False),
        PhoneModel("cisco-spa303", "cisco", "spa", 3, 3, True, False),
        PhoneModel("cisco-spa502g", "cisco", "spa", 1, 0, True, False),
        PhoneModel("cisco-spa504g", "cisco", "spa", 4, 4, True, False),
        PhoneModel("cisco-spa508g", "cisco", "spa", 8, 8, True, False),
        PhoneModel("cisco-spa112", "cisco", "spa", 2, 0, True, False),
        PhoneModel("cisco-spa122", "cisco", "spa", 2, 0, True, False),
        PhoneModel("panasonic-kx-hdv100", "panasonic", "sip", 2, 0, True, True),
        PhoneModel("panasonic-kx-hdv130", "panasonic", "sip", 2, 24, True, True),
        PhoneModel("panasonic-kx-hdv230", "panasonic", "sip", 6, 24, True, True),
        PhoneModel("panasonic-kx-tgp600", "panasonic", "sip", 8, 0, True, True),
        PhoneModel("panasonic-kx-ut113", "panasonic", "sip", 2, 0, True, True),
        PhoneModel("panasonic-kx-ut133", "panasonic", "sip", 2, 24, True, True),
        PhoneModel("panasonic-kx-ut136", "panasonic", "sip", 4, 24, True, True),
        PhoneModel("eltex-vp-12p", "eltex", "vp", 2, 4, True, True),
        PhoneModel("eltex-vp-15p", "eltex", "vp", 6, 10, True, True),
        PhoneModel("eltex-tau-1m-ip", "eltex", "tau", 1, 0, True, True),
        PhoneModel("eltex-tau-2m-ip", "eltex", "tau", 2, 0, True, True),
    )
}
