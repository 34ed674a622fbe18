"""Each role's meta/argument_specs.yml is what pbxctl.argspecs generates, and what compile produces fits it."""

import re

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from jinja2.nativetypes import NativeEnvironment

from pbxctl import argspecs

REGENERATE = "regenerate them: python -m pbxctl.argspecs (or pbxctl schema --argspecs)"


@pytest.fixture(scope="module")
def generated():
    return argspecs.generate()


@pytest.fixture(scope="module")
def compiled():
    return argspecs.compiled_vars()


def _options(role: str) -> dict:
    data = yaml.safe_load((argspecs.ROLES / role / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
    return data["argument_specs"]["main"]["options"]


def test_committed_argument_specs_are_current(generated):
    assert set(generated) == {argspecs.ROLES / r / "meta" / "argument_specs.yml" for r in argspecs.roles()}
    stale = [str(p.relative_to(argspecs.ROOT)) for p in argspecs.stale(generated)]
    assert not stale, f"stale argument specs {stale}; {REGENERATE}"


def test_every_role_with_tasks_has_a_spec_for_main():
    assert {"asterisk", "provisioning", "routeros", "nut"} <= set(argspecs.roles())
    for role in argspecs.roles():
        assert _options(role), role


@pytest.mark.parametrize("role", argspecs.roles())
def test_what_compile_produces_passes_the_role_validation(role, compiled):
    """What Ansible does at role start: the role's variables (defaults, then vars.yml and secrets.yml), templated."""
    outputs, _ = compiled
    options = _options(role)
    defaults = {name: value for name, (value, _) in argspecs.role_defaults(role).items()}
    env = NativeEnvironment()
    for output in outputs:
        values = {**defaults, **{k: v for k, v in output.items() if k.startswith(f"{role}__")}}
        values = {k: env.from_string(v).render(**values) if isinstance(v, str) and "{{" in v else v
                  for k, v in values.items()}
        result = ArgumentSpecValidator(options).validate(values)
        assert not result.error_messages, result.error_messages


def test_a_wrong_type_is_caught():
    options = _options("provisioning")
    result = ArgumentSpecValidator(options).validate({"provisioning__protocols": "tftp", "provisioning__https_port":
                                                      "eighty", "provisioning__server": "x",
                                                      "provisioning__tftp_files": []})
    assert any("provisioning__https_port" in m for m in result.error_messages)


def test_types_descriptions_and_secrets():
    prov = _options("provisioning")
    assert prov["provisioning__protocols"] == {**prov["provisioning__protocols"], "type": "list", "elements": "str",
                                               "required": True}
    assert "HTTPS port" in prov["provisioning__https_port"]["description"][0]
    assert prov["provisioning__http_passwords"]["no_log"] is True
    assert any("no_log" in line for line in prov["provisioning__http_passwords"]["description"])
    assert prov["provisioning__root"] == {**prov["provisioning__root"], "required": False,
                                          "default": "/srv/pbxctl-phones"}
    router = _options("routeros")
    assert router["routeros__host"]["required"] is False, "a site without a router compiles no routeros__host"
    assert "default" not in router["routeros__api_port"], "a templated default is not a value of its type"
    assert router["routeros__password"]["no_log"] is True


REGISTERED = re.compile(r"^\s*(?:register|loop_var|index_var):\s*([a-z0-9_]+)|^\s+([a-z0-9_]+__[a-z0-9_]+):\s",
                        re.MULTILINE)


@pytest.mark.parametrize("role", argspecs.roles())
def test_every_variable_a_role_reads_is_in_its_spec(role):
    """Any `<role>__x` the role's files use is specified, unless the role sets it itself (register, set_fact, vars)."""
    root = argspecs.ROLES / role
    texts = [p.read_text(encoding="utf-8") for sub in ("tasks", "handlers", "templates")
             for p in (root / sub).rglob("*") if p.is_file()]
    used = {m for text in texts for m in re.findall(rf"\b({role}__[a-z0-9_]+)\b", text)}
    set_here = {name for text in texts for m in REGISTERED.finditer(text) for name in m.groups() if name}
    missing = sorted(used - set(_options(role)) - set_here)
    assert not missing, f"{role} uses {missing}, which neither compile nor its defaults provide"


def test_cli_flag_writes_nothing_when_current(runner):
    from pbxctl.cli import app

    result = runner.invoke(app, ["schema", "--argspecs"])
    assert result.exit_code == 0, result.output
    assert "wrote" not in result.output


def test_generated_files_pass_yamllint():
    import subprocess
    import sys
    from pathlib import Path

    files = [str(argspecs.ROLES / r / "meta" / "argument_specs.yml") for r in argspecs.roles()]
    lint = Path(sys.executable).with_name("yamllint")
    run = subprocess.run([str(lint), "-f", "parsable", *files], cwd=argspecs.ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout


def _asterisk_share(outputs: list[dict]) -> dict:
    """The asterisk variables of the example that has a GSM trunk and routes through it."""
    output = next(o for o in outputs if any(t["type"] == "gsm_dongle" for t in o["asterisk__trunks"]))
    return {k: v for k, v in output.items() if k.startswith("asterisk__")}


def _mutated(share: dict, change) -> dict:
    import copy

    data = copy.deepcopy(share)
    change(data)
    return data


NESTED_MISTAKES = {
    "a GSM trunk's driver misspelt": lambda d: next(t for t in d["asterisk__trunks"]
                                                    if t["type"] == "gsm_dongle").update(driver="chan_quetcel"),
    "a route leg's channel technology unknown": lambda d: d["asterisk__outbound_routes"][0]["legs"][0].update(
        technology="SIP"),
    "a key no contract declares, inside an item": lambda d: d["asterisk__trunks"][0].update(technolgy="PJSIP"),
    "a trunk's channel count as text": lambda d: d["asterisk__trunks"][0].update(channels="many"),
}


@pytest.mark.parametrize("mistake", sorted(NESTED_MISTAKES))
def test_nested_types_catch_what_dict_hid(mistake, compiled):
    """Inside lists of items, both the role's spec (Ansible, at role start) and compile's contract refuse it."""
    from pydantic import ValidationError

    from pbxctl.compile import contracts

    share = _asterisk_share(compiled[0])
    assert not ArgumentSpecValidator(_options("asterisk")).validate(share).error_messages
    wrong = _mutated(share, NESTED_MISTAKES[mistake])
    assert ArgumentSpecValidator(_options("asterisk")).validate(wrong).error_messages, mistake
    with pytest.raises(ValidationError):
        contracts.check(wrong)


def test_a_variable_no_contract_declares_is_refused_by_compile():
    from pydantic import ValidationError

    from pbxctl.compile import contracts

    with pytest.raises(ValidationError, match="nut__surprise"):
        contracts.ROLES["nut"].model_validate({"nut__enabled": False, "nut__surprise": 1})
