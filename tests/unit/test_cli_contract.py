"""pbxctl's exit codes and --json documents, from real runs: a real ansible-playbook on the control node, a real
SSH refusal on loopback, real site files. The documents are checked against pbxctl/run.schema.json."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from pbxctl import exit_codes
from pbxctl.cli import _document, app
from pbxctl.output import console
from pbxctl.plan import planned_changes, print_plan
from pbxctl.run import PlaybookMissing, run_playbook

from .conftest import ROOT, write_site
from .test_run import compiled

SCHEMA = json.loads((ROOT / "pbxctl" / "run.schema.json").read_text())
UNREACHABLE_SITE = """\
site:
  name: nowhere
pbx:
  host: 127.0.0.1
  ssh_port: 1
"""


def valid(document: dict) -> dict:
    jsonschema.validate(document, SCHEMA)
    return document


def test_a_run_that_changes_is_ok_or_pending_with_detailed_exitcode(tmp_path):
    build, playbook = compiled(tmp_path)
    result = run_playbook(build, str(playbook), check=True, quiet=True)
    assert exit_codes.for_run(result) == exit_codes.OK == 0
    assert exit_codes.for_run(result, detailed=True) == exit_codes.CHANGES_PENDING == 2
    document = valid(_document("plan", Path("site.yml"), result, 2, planned_changes(result, ["hello"])))
    (change,) = document["changes"]
    assert change["task"] == "Write a file"
    assert "+********" in change["diff"], "the new content, masked"
    assert not any("hello" in line for line in change["diff"])
    run_playbook(build, str(playbook), quiet=True)
    again = run_playbook(build, str(playbook), check=True, quiet=True)
    assert exit_codes.for_run(again, detailed=True) == exit_codes.OK


def test_a_failed_task_is_5_and_named(tmp_path):
    build, playbook = compiled(tmp_path, fail_now=True)
    result = run_playbook(build, str(playbook), quiet=True)
    assert exit_codes.for_run(result) == exit_codes.TASK_FAILED == 5
    document = valid(_document("apply", Path("site.yml"), result, 5))
    assert document["failures"] == [{"host": "here", "task": "Fail when told to", "message": "told to fail"}]


def test_a_playbook_ansible_cannot_read_is_6_with_its_error_text(tmp_path, capsys):
    build, playbook = compiled(tmp_path)
    playbook.write_text("- hosts: all\n  tasks:\n    - name: Broken\n      no.such.module: {}\n")
    result = run_playbook(build, str(playbook), quiet=True)
    assert result.returncode != 0 and not result.recap
    assert exit_codes.for_run(result) == exit_codes.ANSIBLE_ERROR == 6
    assert any("no.such.module" in line for line in result.messages), result.messages
    assert "no.such.module" in capsys.readouterr().err, "quiet runs still show why Ansible stopped"
    valid(_document("plan", Path("site.yml"), result, 6, []))
    out = io.StringIO()
    print_plan(result, console_to(out))
    assert "no changes" not in out.getvalue()


def test_a_missing_playbook_is_6_and_never_no_changes(tmp_path):
    build, _ = compiled(tmp_path)
    with pytest.raises(PlaybookMissing) as raised:
        run_playbook(build, "nope.yml")
    assert raised.value.exit_code == exit_codes.ANSIBLE_ERROR
    assert "nope.yml: no such playbook" in raised.value.lines[0]


def test_an_unreachable_host_is_4(tmp_path, runner):
    site = write_site(tmp_path, UNREACHABLE_SITE)
    result = runner.invoke(app, ["plan", str(site), "--only", "pbx", "--json"])
    assert result.exit_code == exit_codes.UNREACHABLE == 4, result.output
    document = valid(json.loads(result.stdout))
    assert document["exit_code"] == 4 and document["command"] == "plan"
    assert document["hosts"]["nowhere-pbx"]["unreachable"] == 1
    assert document["failures"][0]["host"] == "nowhere-pbx"
    assert "nowhere-pbx" in result.stderr, "the failure is named on stderr too"


def test_doctor_json_is_versioned_and_a_failed_check_is_5(tmp_path, runner):
    site = write_site(tmp_path, UNREACHABLE_SITE)
    result = runner.invoke(app, ["doctor", str(site), "--json"])
    document = valid(json.loads(result.stdout))
    assert result.exit_code == document["exit_code"] == exit_codes.TASK_FAILED, result.output
    assert document["version"] == 1 and any(check["status"] == "fail" for check in document["checks"])


def test_an_invalid_site_is_3_also_in_json(tmp_path, runner):
    site = write_site(tmp_path, "site:\n  name: Bad Name\npbx:\n  host: 192.0.2.1\n")
    result = runner.invoke(app, ["validate", str(site)])
    assert result.exit_code == exit_codes.SITE_INVALID == 3
    assert "site.name" in result.stderr and "Traceback" not in result.output
    result = runner.invoke(app, ["apply", str(site), "--json"])
    assert result.exit_code == 3
    document = valid(json.loads(result.stdout))
    assert document["exit_code"] == 3 and any("site.name" in line for line in document["errors"])


def test_usage_errors_are_64_not_clicks_2(tmp_path, runner):
    assert runner.invoke(app, ["no-such-command"]).exit_code == exit_codes.USAGE == 64
    assert runner.invoke(app, ["validate", "--no-such-option", "x"]).exit_code == 64
    site = write_site(tmp_path, UNREACHABLE_SITE)
    result = runner.invoke(app, ["apply", str(site), "--only", "everything"])
    assert result.exit_code == 64 and "--only" in result.stderr


def test_version_and_completion(runner):
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"pbxctl {version('pbxctl')}\n"
    # the shell named, not detected from the process tree (a CI job may run under no shell at all): typer reads
    # this switch when the app is built, so in a process of its own
    result = subprocess.run([sys.executable, "-m", "pbxctl", "--show-completion", "bash"], capture_output=True,
                            text=True, env={**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert result.returncode == 0 and "complete -o default" in result.stdout, result.stderr


def console_to(stream: io.StringIO, **options):
    plain = console()
    plain.file = stream
    for key, value in options.items():
        setattr(plain, key, value)
    return plain


def test_plain_output_is_neither_wrapped_nor_marked_up(tmp_path):
    long = "x" * 300 + " [dim]not markup[/dim]"
    build, playbook = compiled(tmp_path)
    run_playbook(build, str(playbook), quiet=True)
    variables = yaml.safe_load((build.out_dir / "vars.yml").read_text())
    (build.out_dir / "vars.yml").write_text(yaml.safe_dump({**variables, "greeting": long}))
    result = run_playbook(build, str(playbook), check=True, quiet=True)
    out = io.StringIO()
    print_plan(result, console_to(out))  # a StringIO is not a terminal: no colour, 80 columns
    lines = out.getvalue().splitlines()
    assert f"      +{long}" in lines, "one line, '+' kept, the text's own brackets shown as they are"
    assert "\x1b[" not in out.getvalue()


def test_no_color_on_a_terminal(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")  # as if on a terminal
    build, playbook = compiled(tmp_path)
    result = run_playbook(build, str(playbook), check=True, quiet=True)
    out = io.StringIO()
    print_plan(result, console_to(out))
    text = out.getvalue()
    assert "Write a file" in text
    assert not any(f"\x1b[{code}m" in text or f";{code}m" in text for code in range(30, 38)), repr(text[:300])
