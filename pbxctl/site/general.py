"""The site itself: name, locale, country (drives number normalisation), apt proxy."""

from functools import cache
from typing import Literal
from zoneinfo import available_timezones

from pydantic import AnyHttpUrl, Field, field_validator

from ..numbers import COUNTRY_PLANS
from .base import Model, Name


@cache
def known_zones() -> frozenset[str]:
    """The IANA zone names this system knows, read once: available_timezones() walks the zone directory each call."""
    return frozenset(available_timezones())


class SiteInfo(Model):
    name: Name = Field(description="short site name; names the build directory")
    description: str = Field("", description="free text for people reading the file")
    timezone: str = Field("Europe/Moscow", description="IANA time zone of the office")
    language: Literal["ru", "en"] = Field("ru", description="prompts and phone menus")
    country: str = Field("RU", description="ISO country code; numbers are normalised with its plan")
    apt_proxy: AnyHttpUrl | None = Field(None, description="HTTP proxy the servers use for packages")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in known_zones():
            raise ValueError(f"unknown time zone '{value}' (use an IANA name like Europe/Moscow)")
        return value

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        if value not in COUNTRY_PLANS:
            raise ValueError(f"no number plan for country '{value}' (an ISO 3166 region libphonenumber knows: "
                             "RU, KZ, DE…)")
        return value
