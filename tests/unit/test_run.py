"""pbxctl.run against a real ansible-playbook on the control node: counts, failures, notices, exit code."""

from pathlib import Path

import yaml

from pbxctl.compile import Compiled
from pbxctl.compile.project import write_project
from pbxctl.run import run_playbook

PLAY = [{
    "name": "Local play",
    "hosts": "all",
    "gather_facts": False,
    "tasks": [
        {"name": "Write a file", "ansible.builtin.copy": {"content": "{{ greeting }}\n", "dest": "{{ target }}",
                                                            "mode": "0644"}},
        # notices and results travel in set_stats data, whatever the task is called; a task's name means nothing
        {"name": "Check the modem", "ansible.builtin.set_stats": {
            "data": {"pbxctl_notices": ["the modem is missing"]}, "per_host": True}},
        {"name": "Warn in a debug message, which is no notice", "ansible.builtin.debug": {"msg": "just output"}},
        {"name": "Report what was reached", "ansible.builtin.set_stats": {
            "data": {"pbxctl_reached": ["{{ item }}"]}, "per_host": True}, "loop": ["a", "b"]},
        {"name": "Handle a secret", "ansible.builtin.command": "false", "no_log": True, "failed_when": False,
         "changed_when": False},
        {"name": "Fail when told to", "ansible.builtin.fail": {"msg": "told to fail"}, "when": "fail_now | bool"},
    ],
}]


def compiled(tmp_path: Path, **variables) -> tuple[Compiled, Path]:
    out = tmp_path / "build"
    out.mkdir()
    (out / "inventory.yml").write_text(yaml.safe_dump({"all": {"hosts": {"here": {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}}))
    (out / "vars.yml").write_text(yaml.safe_dump({"target": str(tmp_path / "out.txt"), "greeting": "hello",
                                                  "fail_now": False, **variables}))
    (out / "secrets.yml").write_text(yaml.safe_dump({"password": "s3cret-value"}))
    write_project(out, None)  # the variables reach the play as the build's group_vars
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(PLAY, sort_keys=False))
    return Compiled(None, out, [], None), playbook


def test_changes_then_nothing_and_notices(tmp_path):
    build, playbook = compiled(tmp_path)
    first = run_playbook(build, str(playbook), quiet=True)
    assert first.returncode == 0 and first.changed == 1
    assert [c["task"] for c in first.changes] == ["Write a file"]
    assert first.notices == [{"host": "here", "message": "the modem is missing"}]
    assert first.data == {"here": {"pbxctl_reached": ["a", "b"]}}
    second = run_playbook(build, str(playbook), quiet=True)
    assert second.changed == 0
    assert (tmp_path / "out.txt").read_text() == "hello\n"


def test_check_mode_reports_the_diff_and_changes_nothing(tmp_path):
    build, playbook = compiled(tmp_path)
    run_playbook(build, str(playbook), quiet=True)
    (build.out_dir / "vars.yml").write_text((build.out_dir / "vars.yml").read_text().replace("hello", "bonjour"))
    plan = run_playbook(build, str(playbook), check=True, quiet=True)
    assert plan.changed == 1
    assert plan.notices == [{"host": "here", "message": "the modem is missing"}]  # plan shows them too
    assert any("bonjour" in str(d["diff"]) for d in plan.diffs)
    assert (tmp_path / "out.txt").read_text() == "hello\n"


def test_a_failure_names_host_task_and_message_with_ansibles_exit_code(tmp_path):
    build, playbook = compiled(tmp_path, fail_now=True)
    result = run_playbook(build, str(playbook), quiet=True)
    assert result.returncode == 2
    assert result.failures == [{"host": "here", "task": "Fail when told to", "message": "told to fail"}]
    assert "s3cret-value" not in str(result.as_json())
