"""The shared pbxctl_files action (pbxctl/ansible_plugins/action), run by a real ansible-playbook on the control node:
a role's scattered files, directories and links in one task; only what differs written, modes set, a validate
command that refuses keeps the old file, a secret's contents never in a diff, a file kept as the server has it once
it exists (if_missing), and a re-run changing nothing."""

import os
import stat
from pathlib import Path

import yaml

from pbxctl.run import run_playbook

from .test_run import compiled

PLUGIN = Path(__file__).resolve().parents[2] / "pbxctl" / "ansible_plugins" / "action" / "pbxctl_files.py"


def play(tmp_path, task: dict, variables: dict):
    build, playbook = compiled(tmp_path)
    role = tmp_path / "roles" / "demo"
    for sub in ("tasks", "action_plugins", "templates", "files"):
        (role / sub).mkdir(parents=True, exist_ok=True)
    (role / "action_plugins" / "pbxctl_files.py").symlink_to(PLUGIN)
    (role / "tasks" / "main.yml").write_text(yaml.safe_dump([{"name": "The files", "pbxctl_files": task,
                                                              "register": "put"},
                                                             {"name": "Show", "ansible.builtin.debug": {
                                                                 "var": "put.updated"}}]))
    playbook.write_text(yaml.safe_dump([{"name": "Demo", "hosts": "all", "gather_facts": False, "vars": variables,
                                         "roles": [{"role": str(role)}]}]))
    return build, playbook, role


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_scattered_files_directories_and_links_in_one_task(tmp_path):
    out = tmp_path / "server"
    build, playbook, role = play(tmp_path, {
        "directories": [{"path": str(out / "etc"), "mode": "0750"}],
        "links": [{"path": str(out / "current"), "src": str(out / "etc")}],
        "files": [
            {"dest": str(out / "etc" / "site.conf"), "template": "site.conf.j2", "mode": "0644"},
            {"dest": str(out / "etc" / "tool"), "src": "tool", "mode": "0755"},
            {"dest": str(out / "etc" / "secret.conf"), "content": "password={{ password }}\n", "mode": "0600",
             "secret": True},
            {"dest": str(out / "etc" / "state"), "content": "fresh\n", "mode": "0660", "if_missing": True},
            {"dest": str(out / "etc" / "checked.conf"), "content": "{{ checked }}\n", "mode": "0644",
             "validate": "grep -qv bad %s"},
        ]}, {"word": "one", "checked": "good"})
    (role / "templates" / "site.conf.j2").write_text("word={{ word }}\n")
    (role / "files" / "tool").write_text("#!/bin/sh\n")

    first = run_playbook(build, str(playbook), quiet=True)
    assert first.returncode == 0, first.failures + first.messages
    assert first.changed == 1 and len(first.tasks) == 2, "one task for all of them"
    assert (out / "etc" / "site.conf").read_text() == "word=one\n"
    assert (out / "etc" / "secret.conf").read_text() == "password=s3cret-value\n"
    assert os.readlink(out / "current") == str(out / "etc")
    assert [mode(out / "etc" / n) for n in ("site.conf", "tool", "secret.conf", "state")] == [0o644, 0o755, 0o600,
                                                                                             0o660]
    assert mode(out / "etc") == 0o750
    assert run_playbook(build, str(playbook), quiet=True).changed == 0, "nothing differs: nothing written"

    # what the server's program wrote into an if_missing file stays; a wrong mode is put right
    (out / "etc" / "state").write_text("the bench's own\n")
    os.chmod(out / "etc" / "state", 0o600)
    again = run_playbook(build, str(playbook), quiet=True)
    assert again.changed == 1 and (out / "etc" / "state").read_text() == "the bench's own\n"
    assert mode(out / "etc" / "state") == 0o660

    # a plan: the changed file's diff shown, the secret one named without its contents, nothing written
    (role / "templates" / "site.conf.j2").write_text("word={{ word }}\nmore=yes\n")
    (out / "etc" / "secret.conf").write_text("password=old-s3cret\n")
    plan = run_playbook(build, str(playbook), check=True, quiet=True)
    assert plan.returncode == 0 and plan.changed == 1
    shown = yaml.safe_dump([d["diff"] for d in plan.diffs])
    assert "more=yes" in shown and "secret.conf" in shown
    assert "s3cret" not in shown, "a secret file's contents never reach the diff"
    assert (out / "etc" / "site.conf").read_text() == "word=one\n", "check mode writes nothing"


def test_a_file_its_validate_command_refuses_is_not_put_in_place(tmp_path):
    out = tmp_path / "server"
    out.mkdir()
    (out / "checked.conf").write_text("good\n")
    build, playbook, _ = play(tmp_path, {"files": [
        {"dest": str(out / "checked.conf"), "content": "{{ checked }}\n", "mode": "0644",
         "validate": "! grep -q bad %s"}]}, {"checked": "bad"})
    refused = run_playbook(build, str(playbook), quiet=True)
    assert refused.returncode != 0
    assert "refused" in " ".join(str(f) for f in refused.failures)
    assert (out / "checked.conf").read_text() == "good\n", "the old file stays"
    assert [p.name for p in out.iterdir()] == ["checked.conf"], "no temporary file left behind"
