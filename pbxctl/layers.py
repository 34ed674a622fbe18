"""The layer of every part of pbxctl, lowest first: a module imports only from its own layer or lower ones,
and the parts (the keys below) import each other without a cycle. tests/unit/test_layers.py enforces both;
ARCHITECTURE.md draws the same map. A module belongs to the longest key that is a prefix of its name."""

LAYERS = ("model", "resolve", "artefacts", "actions", "cli")

PARTS = {
    # model: what a site is, as read and checked, and the data it is checked against
    "pbxctl": "model",  # the package's own __init__ (its docstring only)
    "pbxctl.exit_codes": "model",
    "pbxctl.problems": "model",
    "pbxctl.patterns": "model",
    "pbxctl.numbers": "model",
    "pbxctl.security": "model",  # refused prefixes, alert events: data the model and the guard share
    "pbxctl.security.ranges": "model",
    "pbxctl.site": "model",
    "pbxctl.yamlsafe": "model",
    "pbxctl.load": "model",
    "pbxctl.resources": "model",
    "pbxctl.vault": "model",
    "pbxctl.pki": "model",
    "pbxctl.secrets": "model",
    # resolve: every default and derived value of a site, computed once
    "pbxctl.resolve": "resolve",
    # artefacts: pure functions of the resolved site (role variables, phone files, router description)
    "pbxctl.phones": "artefacts",
    "pbxctl.router": "artefacts",
    "pbxctl.security.guard": "artefacts",
    "pbxctl.compile": "artefacts",
    "pbxctl.schema": "artefacts",
    "pbxctl.argspecs": "artefacts",
    "pbxctl.explain": "artefacts",  # the path of a call through the compiled routing variables
    # actions: they run things (Ansible, SSH, the lab's machines) on what the artefacts describe
    "pbxctl.ansible_plugins": "actions",
    "pbxctl.run": "actions",
    "pbxctl.plan": "actions",
    "pbxctl.timing": "actions",
    "pbxctl.doctor": "actions",
    "pbxctl.resync": "actions",
    "pbxctl.backup": "actions",  # backup and restore of the PBX's data
    "pbxctl.router_ssh": "actions",
    "pbxctl.lab": "actions",
    "pbxctl.fleet": "actions",  # many sites: one build, one run, a summary per site
    "pbxctl.build": "actions",  # Asterisk built into .debs on the control node, for suites without it
    "pbxctl.testcalls": "actions",  # explain's scenarios replayed as real calls on the lab PBX
    # cli: Typer wiring, the one place user errors are printed
    "pbxctl.output": "cli",
    "pbxctl.lab.cli": "cli",
    "pbxctl.build.__main__": "cli",  # the role's entry point to the build
    "pbxctl.cli": "cli",
    "pbxctl.__main__": "cli",
}


def part_of(module: str) -> str | None:
    """The PARTS key a dotted module name belongs to (None: not in the map)."""
    parts = module.split(".")
    for length in range(len(parts), 0, -1):
        name = ".".join(parts[:length])
        if name in PARTS:
            return name
    return None


def rank(module: str) -> int:
    return LAYERS.index(PARTS[part_of(module)])
