"""The run summary and --profile from a real ansible-playbook run: task counts per host, tasks run, slowest first."""

import yaml

from pbxctl.run import run_playbook
from pbxctl.timing import Timer, profile_lines, summary_lines

from .test_run import compiled

PLAY = [{
    "name": "Timed play",
    "hosts": "all",
    "gather_facts": False,
    "tasks": [
        {"name": "Write a file", "ansible.builtin.copy": {"content": "{{ greeting }}\n", "dest": "{{ target }}",
                                                            "mode": "0644"}},
        {"name": "Take a while", "ansible.builtin.command": "sleep 1.2", "changed_when": False},
        {"name": "Loop twice", "ansible.builtin.debug": {"msg": "{{ item }}"}, "loop": ["a", "b"]},
        {"name": "Skip this", "ansible.builtin.debug": {"msg": "never"}, "when": "fail_now | bool"},
    ],
}]


def test_summary_and_profile_of_a_real_run(tmp_path):
    build, playbook = compiled(tmp_path)
    playbook.write_text(yaml.safe_dump(PLAY, sort_keys=False))
    result = run_playbook(build, str(playbook), quiet=True)
    assert result.returncode == 0
    assert [t.name for t in result.tasks] == ["Write a file", "Take a while", "Loop twice", "Skip this"]
    assert sum(t.seconds for t in result.tasks) <= result.seconds
    summary = summary_lines(result.stats, result.seconds, len(result.tasks))
    assert summary[0] == "here: ok=3 changed=1 skipped=1 failed=0 unreachable=0"
    assert summary[-1].endswith(" s, 4 tasks run")
    profile = profile_lines(result.tasks, result.seconds, count=3)
    assert profile[0] == "slowest 3 of 4 tasks:" and len(profile) == 4
    seconds = [float(line.split()[0]) for line in profile[1:]]
    assert seconds == sorted(seconds, reverse=True)
    # on a loaded machine the first task (workers starting) may be slower still; the sleep is always listed
    (slept,) = [line for line in profile if line.endswith("Take a while")]
    assert float(slept.split()[0]) >= 1.2
    again = run_playbook(build, str(playbook), quiet=True)
    assert summary_lines(again.stats, again.seconds, len(again.tasks))[0].startswith("here: ok=3 changed=0 ")
    assert again.as_json()["tasks_run"] == 4


def test_a_task_no_host_ran_is_not_counted_and_handlers_are_marked():
    timer = Timer()
    events = [{"event": "play", "t": 0.0}, {"event": "task", "name": "nobody", "t": 0.0},
              {"event": "task", "name": "first", "t": 1.0}, {"event": "ok", "t": 1.5},
              {"event": "task", "name": "restart", "handler": True, "t": 3.0}, {"event": "changed", "t": 3.1},
              {"event": "stats", "t": 7.0}]
    for event in events:
        timer.feed(event)
    assert [(t.name, t.seconds, t.handler) for t in timer.tasks] == [("first", 2.0, False), ("restart", 4.0, True)]
    assert profile_lines(timer.tasks, 7.0)[1] == "    4.00 s   57%  restart (handler)"
