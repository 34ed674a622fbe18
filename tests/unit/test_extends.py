"""A site extends a defaults file: deep-merged under the site, each problem told against the file it is in."""

import pytest

from pbxctl.load import load_site
from pbxctl.problems import SiteInvalid
from pbxctl.site.extends import deep_merge

from .conftest import write_site

DEFAULTS = """\
site:
  timezone: Asia/Yekaterinburg
  language: en
pbx:
  ssh_user: deploy
  codecs: [alaw, ulaw]
"""
BRANCH = """\
extends: ../defaults.yml
site:
  name: surgut
pbx:
  host: 192.0.2.10
  codecs: [g722]
"""


def _repo(tmp_path, defaults: str = DEFAULTS, branch: str = BRANCH):
    write_site(tmp_path, defaults, "defaults.yml")
    (tmp_path / "surgut").mkdir()
    return write_site(tmp_path / "surgut", branch)


def test_mappings_merge_and_lists_replace():
    assert deep_merge({"a": {"x": 1, "y": [1, 2]}, "b": 1}, {"a": {"y": [3]}, "c": 2}) == {
        "a": {"x": 1, "y": [3]}, "b": 1, "c": 2}


def test_site_gets_the_defaults_it_does_not_override(tmp_path):
    site = load_site(_repo(tmp_path))
    assert (site.site.name, site.site.timezone, site.site.language) == ("surgut", "Asia/Yekaterinburg", "en")
    assert site.pbx.ssh_user == "deploy"
    assert site.pbx.codecs == ["g722"]  # the site's list, not the two appended


def test_a_bad_default_is_reported_in_the_defaults_file(tmp_path):
    site_file = _repo(tmp_path, DEFAULTS.replace("language: en", "language: fr"))
    with pytest.raises(SiteInvalid) as raised:
        load_site(site_file)
    assert raised.value.lines == [f"{tmp_path / 'defaults.yml'}:3:3: site.language: Input should be 'ru' or 'en'"]


def test_a_bad_value_of_the_site_is_reported_in_the_site(tmp_path):
    site_file = _repo(tmp_path, branch=BRANCH.replace("[g722]", "[g7222]"))
    with pytest.raises(SiteInvalid) as raised:
        load_site(site_file)
    assert len(raised.value.lines) == 1 and raised.value.lines[0].startswith(f"{site_file}:6:12: pbx.codecs[0]: ")


def test_a_secret_in_the_defaults_is_refused_there(tmp_path):
    site_file = _repo(tmp_path, DEFAULTS + "security:\n  password: hunter2\n")
    with pytest.raises(SiteInvalid) as raised:
        load_site(site_file)
    assert raised.value.lines[0].startswith(f"{tmp_path / 'defaults.yml'}:8:3: security.password: secrets are not")


def test_defaults_extend_nothing(tmp_path):
    site_file = _repo(tmp_path, "extends: other.yml\n" + DEFAULTS)
    with pytest.raises(SiteInvalid) as raised:
        load_site(site_file)
    assert raised.value.lines[0].startswith(f"{tmp_path / 'defaults.yml'}:1:1: extends: a defaults file extends")
