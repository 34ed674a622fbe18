"""pytest fixtures for the RouterOS API double (re-exported by conftest.py in this directory).

routeros_server      fresh default hEX config, plain API on 127.0.0.1:<free port>
routeros_tls_server  same over api-ssl with a self-signed cert (server.cert_path)
routeros_api         librouteros Api logged in to routeros_server
routeros_credentials username/password the servers accept
routeros_module_args hostname/port/username/password for community.routeros modules
"""

from __future__ import annotations

from collections.abc import Iterator

import librouteros
import pytest

from .api_server import RouterOSApiServer
from .state import RouterState

USERNAME = "pbxctl"
PASSWORD = "test-api-secret"


@pytest.fixture
def routeros_credentials() -> dict[str, str]:
    return {"username": USERNAME, "password": PASSWORD}


@pytest.fixture
def routeros_server() -> Iterator[RouterOSApiServer]:
    with RouterOSApiServer(RouterState.default(), users={USERNAME: PASSWORD}) as server:
        yield server


@pytest.fixture
def routeros_tls_server(tmp_path) -> Iterator[RouterOSApiServer]:
    with RouterOSApiServer(
        RouterState.default(), users={USERNAME: PASSWORD}, use_tls=True, cert_dir=tmp_path / "tls"
    ) as server:
        yield server


@pytest.fixture
def routeros_api(routeros_server: RouterOSApiServer) -> Iterator[librouteros.api.Api]:
    api = librouteros.connect(routeros_server.host, USERNAME, PASSWORD, port=routeros_server.port)
    yield api
    api.close()


@pytest.fixture
def routeros_module_args(routeros_server: RouterOSApiServer) -> dict[str, object]:
    return {
        "hostname": routeros_server.host,
        "port": routeros_server.port,
        "username": USERNAME,
        "password": PASSWORD,
    }
