"""The shared pbxctl_tree action (pbxctl/ansible_plugins/action), run by a real ansible-playbook on the control node:
a tree of files, or of templates, compared and shipped in one task; only what differs written, what the tree no
longer has removed, modes set, secret contents never in a diff, a re-run changing nothing."""

import os
import stat
from pathlib import Path

import yaml

from pbxctl.run import run_playbook

from .test_run import compiled

PLUGIN = Path(__file__).resolve().parents[2] / "pbxctl" / "ansible_plugins" / "action" / "pbxctl_tree.py"


def play(tmp_path, task: dict, variables: dict):
    build, playbook = compiled(tmp_path)
    role = tmp_path / "roles" / "demo"
    for sub in ("tasks", "action_plugins", "templates/etc/demo"):
        (role / sub).mkdir(parents=True, exist_ok=True)
    (role / "action_plugins" / "pbxctl_tree.py").symlink_to(PLUGIN)
    (role / "tasks" / "main.yml").write_text(yaml.safe_dump([{"name": "The tree", "pbxctl_tree": task}]))
    playbook.write_text(yaml.safe_dump([{"name": "Demo", "hosts": "all", "gather_facts": False, "vars": variables,
                                         "roles": [{"role": str(role)}]}]))
    return build, playbook, role


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_tree_of_files_in_one_task(tmp_path):
    source, dest = tmp_path / "phones", tmp_path / "served"
    (source / "eltex").mkdir(parents=True)
    (source / "spa1.xml").write_text("<Password>s3cret-one</Password>\n")
    (source / "eltex" / "a1.tar.gz").write_bytes(b"\x1f\x8b binary s3cret-two")
    (source / "manifest.json").write_text("not served\n")
    build, playbook, _ = play(tmp_path, {
        "src": str(source), "files": "{{ served }}", "dest": str(dest), "mode": "0640", "dir_mode": "0750",
        "secret": True}, {"served": ["spa1.xml", "eltex/a1.tar.gz"]})

    first = run_playbook(build, str(playbook), quiet=True)
    assert first.returncode == 0, first.failures + first.messages
    assert first.changed == 1 and len(first.tasks) == 1
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*")) == ["eltex", "eltex/a1.tar.gz", "spa1.xml"]
    assert (mode(dest / "spa1.xml"), mode(dest / "eltex"), mode(dest / "eltex" / "a1.tar.gz")) == (0o640, 0o750,
                                                                                                   0o640)
    assert run_playbook(build, str(playbook), quiet=True).changed == 0, "nothing differs: nothing written"

    # a plan of a changed file and a stale one: both named, no contents, nothing written
    (source / "spa1.xml").write_text("<Password>s3cret-new</Password>\n")
    (dest / "spa9.xml").write_text("<Password>s3cret-old</Password>\n")
    (dest / "gone").mkdir()
    (dest / "gone" / "x.cfg").write_text("x\n")
    plan = run_playbook(build, str(playbook), check=True, quiet=True)
    assert plan.returncode == 0 and plan.changed == 1
    shown = yaml.safe_dump([d["diff"] for d in plan.diffs])
    assert "spa1.xml" in shown and "spa9.xml" in shown and "gone" in shown
    assert "s3cret" not in shown
    assert (dest / "spa1.xml").read_text() == "<Password>s3cret-one</Password>\n"

    # the apply: new bytes, stale files and directories gone, a mode put right, no temporary file left behind
    os.chmod(dest / "eltex" / "a1.tar.gz", 0o644)
    applied = run_playbook(build, str(playbook), quiet=True)
    assert applied.returncode == 0 and applied.changed == 1
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*")) == ["eltex", "eltex/a1.tar.gz", "spa1.xml"]
    assert (dest / "spa1.xml").read_text() == "<Password>s3cret-new</Password>\n"
    assert mode(dest / "eltex" / "a1.tar.gz") == 0o640
    assert run_playbook(build, str(playbook), quiet=True).changed == 0


def test_a_tree_of_templates_shows_diffs_but_not_secret_ones(tmp_path):
    dest = tmp_path / "staging"
    build, playbook, role = play(tmp_path, {
        "src": "etc/demo", "render": True, "dest": str(dest), "mode": "0640", "secret": ["secret.conf"]},
        {"word": "one"})
    (role / "templates" / "etc" / "demo" / "plain.conf.j2").write_text("word={{ word }}\n")
    (role / "templates" / "etc" / "demo" / "secret.conf.j2").write_text("password={{ word }}-s3cret\n")
    assert run_playbook(build, str(playbook), quiet=True).changed == 1
    assert (dest / "plain.conf").read_text() == "word=one\n"

    playbook.write_text(playbook.read_text().replace("word: one", "word: two"))
    plan = run_playbook(build, str(playbook), check=True, quiet=True)
    shown = yaml.safe_dump([d["diff"] for d in plan.diffs])
    assert "word=one" in shown and "word=two" in shown
    assert "secret.conf" in shown and "s3cret" not in shown
    assert run_playbook(build, str(playbook), quiet=True).changed == 1
    assert (dest / "secret.conf").read_text() == "password=two-s3cret\n"
