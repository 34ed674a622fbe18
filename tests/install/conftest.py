"""The installed-wheel fixture, made once per session."""

import pytest
from installed import Installed, install


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> Installed:
    return install(tmp_path_factory.mktemp("wheel"))
