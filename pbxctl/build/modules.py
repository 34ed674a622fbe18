"""The trimmed module set of a built Asterisk: what pbxctl's configuration can ever load, read from the role.

modules.conf.j2 is rendered with every optional feature on (CSV CDRs, the CRM, parking, conferences, a mobile that
dials out), so a site that turns one on later finds its module installed; the checker's private Asterisk loads a
few of its own. GSM drivers are built apart (build-gsm.sh), from the site's source. A module added to the template
is built on the next build without anyone updating a list.
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2

from pbxctl.resources import roles_dir

# formats the checker and voicemail may load under autoload (pbxctl-asterisk-check): not in modules.conf
CHECKER_EXTRA = ("pbx_config", "app_voicemail", "app_queue", "format_wav", "format_gsm", "format_wav_gsm")
LOAD = re.compile(r"^\s*load\s*=>\s*([A-Za-z0-9_]+)\.so\s*$", re.M)


def template() -> Path:
    return roles_dir() / "asterisk/templates/etc/asterisk/modules.conf.j2"


def render_all_features() -> str:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["comment"] = lambda text, **_: ""
    return env.from_string(template().read_text()).render(
        ansible_managed="", asterisk__cdr={"csv": True}, asterisk__crm={"url": "x"}, asterisk__dongles=[],
        asterisk__features={"parking": {"number": "700"}, "conferences": [{"number": "800"}]},
        asterisk__extensions=[{"number": "100", "mobile": {"number": "+79160000000", "dial_out": True}}])


def wanted() -> list[str]:
    """Every module name the configuration may load, sorted (the build recipe's hash includes it)."""
    return sorted(set(LOAD.findall(render_all_features())) | set(CHECKER_EXTRA))
