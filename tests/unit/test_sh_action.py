"""The shared pbxctl_sh action, run by a real ansible-playbook on the control node: the argv reaches the program
word for word (spaces, quotes, $, newlines: nothing re-split or expanded), its output comes back as command's
would, a non-zero exit fails the task unless failed_when says otherwise, and it runs in check mode too."""

import json
from pathlib import Path

import yaml

from pbxctl.run import run_playbook

from .test_run import compiled

PLUGIN = Path(__file__).resolve().parents[2] / "pbxctl" / "ansible_plugins" / "action" / "pbxctl_sh.py"
AWKWARD = ["two words", "it's", '"quoted"', "$HOME", "a\nb", "; rm -rf /", ""]


def play(tmp_path, tasks: list[dict]):
    build, playbook = compiled(tmp_path)
    role = tmp_path / "roles" / "demo"
    for sub in ("tasks", "action_plugins"):
        (role / sub).mkdir(parents=True, exist_ok=True)
    (role / "action_plugins" / "pbxctl_sh.py").symlink_to(PLUGIN)
    (role / "tasks" / "main.yml").write_text(yaml.safe_dump(tasks))
    playbook.write_text(yaml.safe_dump([{"name": "Demo", "hosts": "all", "gather_facts": False,
                                         "roles": [{"role": str(role)}]}]))
    return build, playbook


def test_the_argv_arrives_word_for_word_and_the_output_comes_back(tmp_path):
    out = tmp_path / "seen.json"
    build, playbook = play(tmp_path, [
        {"name": "Echo the arguments", "pbxctl_sh": {"argv": [
            "python3", "-c", "import json, sys; print(json.dumps(sys.argv[1:])); print('err', file=sys.stderr)",
            *AWKWARD]}, "register": "echoed", "changed_when": False},
        {"name": "Keep what came back", "ansible.builtin.copy": {
            "content": "{{ {'lines': echoed.stdout_lines, 'stderr': echoed.stderr, 'rc': echoed.rc} | to_json }}",
            "dest": str(out)}},
    ])
    result = run_playbook(build, str(playbook), quiet=True)
    assert result.returncode == 0, result.failures
    seen = json.loads(out.read_text())
    assert json.loads(seen["lines"][0]) == AWKWARD
    assert (seen["stderr"], seen["rc"]) == ("err", 0)


def test_a_non_zero_exit_fails_unless_failed_when_allows_it_and_check_mode_runs_it(tmp_path):
    marker = tmp_path / "ran-in-check-mode"
    build, playbook = play(tmp_path, [
        {"name": "Allowed to fail", "pbxctl_sh": {"argv": ["sh", "-c", "exit 3"]}, "register": "three",
         "failed_when": "three.rc not in [0, 3]"},
        {"name": "Runs in check mode", "pbxctl_sh": {"argv": ["touch", str(marker)]}, "check_mode": False},
        {"name": "Fails", "pbxctl_sh": {"argv": ["sh", "-c", "echo broken >&2; exit 1"]}},
    ])
    result = run_playbook(build, str(playbook), check=True, quiet=True)
    assert result.returncode != 0
    assert [f["task"].endswith("demo : Fails") for f in result.failures] == [True], result.failures
    assert "non-zero return code" in result.failures[0]["message"]
    assert marker.exists()
