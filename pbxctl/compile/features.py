"""Role variables of the call features: an extension's mobile as the dialplan rings it (the E.164 number, the
delay, the outbound route chosen at compile time as the outbound-N contexts would choose it) and its pickup
groups; the parking lot's slots and the conference rooms."""

from ..numbers import to_e164
from ..site import Site
from ..site.extensions import Extension
from ..site.features import DIAL_OUT_FAILURES, DIAL_OUT_LOCK, DIAL_OUT_TRIES, DIAL_OUT_WINDOW, mobile_route


def extension(ext: Extension, site: Site) -> dict:
    data = ext.model_dump(mode="json", exclude_none=True)
    if ext.mobile is not None:
        number = to_e164(ext.mobile.number, site.site.country)
        route = mobile_route(site, ext.number, number)
        # validate refuses a mobile no route reaches (pbxctl.site.features): None here is a bug
        assert route is not None, f"extension {ext.number}: no route to its mobile"
        data["mobile"] = {"number": number, "after": ext.mobile.after, "route": route.name}
        if ext.mobile.dial_out:
            data["mobile"]["dial_out"] = True
    data["pickup_groups"] = [g.name for g in site.features.pickup_groups if ext.number in g.members]
    return data


def features(site: Site) -> dict:
    parking = site.features.parking
    lot = None
    if parking is not None:
        width = len(parking.number)
        first = int(parking.number) + 1
        slots = [str(first + n).zfill(width) for n in range(parking.slots)]
        lot = {"number": parking.number, "first": slots[0], "last": slots[-1], "slots": slots,
               "timeout": parking.timeout}
    return {"parking": lot, "conferences": [c.model_dump(mode="json") for c in site.features.conferences],
            "dial_out": {"tries": DIAL_OUT_TRIES, "failures": DIAL_OUT_FAILURES, "window": DIAL_OUT_WINDOW,
                         "lock": DIAL_OUT_LOCK}}
