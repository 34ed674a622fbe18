"""The asterisk role's configuration render (pbxctl_tree with render: true), run by a real ansible-playbook on the
control node: a directory of templates rendered and compared in one task, only differing files written, stale ones
removed, secret contents never in a diff, a new template picked up without a task edit."""

import os
import stat

import yaml

from pbxctl.resources import roles_dir
from pbxctl.run import run_playbook

from .test_run import compiled

TASK = {"name": "Render the tree", "pbxctl_tree": {
    "src": "etc/demo", "render": True, "dest": "{{ dest }}", "mode": "0640", "secret": ["secret.conf"]}}


def make_role(root, templates: dict[str, str]):
    role = root / "roles" / "demo"
    (role / "templates" / "etc" / "demo").mkdir(parents=True, exist_ok=True)
    (role / "tasks").mkdir(exist_ok=True)
    (role / "action_plugins").mkdir(exist_ok=True)
    link = role / "action_plugins" / "pbxctl_tree.py"
    if not link.exists():
        link.symlink_to(roles_dir() / "asterisk" / "action_plugins" / "pbxctl_tree.py")
    (role / "tasks" / "main.yml").write_text(yaml.safe_dump([TASK]))
    for name, text in templates.items():
        (role / "templates" / "etc" / "demo" / f"{name}.j2").write_text(text)
    return role


def setup(tmp_path):
    build, playbook = compiled(tmp_path)
    dest = tmp_path / "staging"
    dest.mkdir()
    playbook.write_text(yaml.safe_dump([{"name": "Demo", "hosts": "all", "gather_facts": False,
                                         "vars": {"dest": str(dest), "word": "one"},
                                         "roles": [{"role": str(tmp_path / "roles" / "demo")}]}]))
    return build, playbook, dest


def test_one_task_renders_compares_and_cleans_the_directory(tmp_path):
    build, playbook, dest = setup(tmp_path)
    make_role(tmp_path, {"plain.conf": "word={{ word }}\n", "secret.conf": "password={{ word }}-s3cret\n"})

    first = run_playbook(build, str(playbook), quiet=True)
    assert first.returncode == 0, first.failures + first.messages
    assert first.changed == 1 and [t.name.endswith("demo : Render the tree") for t in first.tasks] == [True]
    assert (dest / "plain.conf").read_text() == "word=one\n"
    assert stat.S_IMODE(os.stat(dest / "plain.conf").st_mode) == 0o640

    assert run_playbook(build, str(playbook), quiet=True).changed == 0, "nothing differs: nothing written"

    # a changed variable: the plan shows the plain file's diff; the secret one is named, its contents never shown;
    # nothing is written
    playbook.write_text(playbook.read_text().replace("word: one", "word: two"))
    plan = run_playbook(build, str(playbook), check=True, quiet=True)
    assert plan.changed == 1
    shown = yaml.safe_dump([d["diff"] for d in plan.diffs])
    assert "word=two" in shown and "word=one" in shown and "plain.conf" in shown
    assert "s3cret" not in shown and "secret.conf" in shown and "the file holds secrets" in shown
    assert (dest / "plain.conf").read_text() == "word=one\n"

    # a file no template renders goes; a template added to the directory is rendered with no task edit
    (dest / "old.conf").write_text("left over\n")
    make_role(tmp_path, {"new.conf": "new {{ word }}\n"})
    applied = run_playbook(build, str(playbook), quiet=True)
    assert applied.returncode == 0 and applied.changed == 1
    assert sorted(p.name for p in dest.iterdir()) == ["new.conf", "plain.conf", "secret.conf"]
    assert (dest / "new.conf").read_text() == "new two\n"
    assert (dest / "secret.conf").read_text() == "password=two-s3cret\n"
