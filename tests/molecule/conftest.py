"""The scenarios' testinfra verifiers run under molecule (which sets MOLECULE_SCENARIO_NAME), against the lab;
a plain pytest run of tests/ must not collect them (testinfra's `host` would be this machine)."""

import os

if not os.environ.get("MOLECULE_SCENARIO_NAME"):
    collect_ignore_glob = ["*/tests/*"]
