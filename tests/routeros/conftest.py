from .fixtures import (  # noqa: F401  (fixtures are found by name)
    routeros_api,
    routeros_credentials,
    routeros_module_args,
    routeros_server,
    routeros_tls_server,
)
