"""Ansible stdout callback: one JSON object per line, read by pbxctl.run to show progress and summaries."""

import json
import sys
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: pbxctl_events
type: stdout
short_description: JSON lines for pbxctl
description: One JSON object per event on stdout; secrets stay out because no_log results are censored by Ansible.
"""

NOTICES = "pbxctl_notices"  # the set_stats key of notices
KEEP = ("msg", "stderr", "stdout", "rc", "diff", "changed", "skipped", "unreachable", "failed", "censored", "dest",
        "path", "invocation")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "pbxctl_events"

    def _emit(self, **event):
        # when it happened: pbxctl times tasks from these (a task lasts until the next one starts)
        event["t"] = round(time.monotonic(), 3)
        sys.stdout.write(json.dumps(event, default=str) + "\n")
        sys.stdout.flush()

    def _result(self, status, result):
        data = {k: v for k, v in result._result.items() if k in KEEP and k != "invocation"}
        if _secret(result) or data.get("censored"):
            data = {"censored": True, "changed": result._result.get("changed", False)}
        item = result._result.get("item")
        self._emit(event=status, host=result._host.get_name(), task=result._task.get_name(),
                   action=result._task.action, item=None if _secret(result) else _label(item), result=data)

    def v2_playbook_on_play_start(self, play):
        self._emit(event="play", name=play.get_name())

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._emit(event="task", name=task.get_name())

    def v2_playbook_on_handler_task_start(self, task):
        self._emit(event="task", name=task.get_name(), handler=True)

    def v2_runner_on_ok(self, result):
        self._result("changed" if result._result.get("changed") else "ok", result)
        self._notice(result)

    def _notice(self, result):
        """Roles hand pbxctl structured data by set_stats (per host): `pbxctl_notices` (what a user must know,
        shown by apply and plan alike) and any other `pbxctl_*` key (results an action reads, e.g. resync)."""
        data = (result._result.get("ansible_stats") or {}).get("data") or {}
        for key, value in sorted(data.items()):
            if key == NOTICES:
                for message in value if isinstance(value, list) else [value]:
                    self._emit(event="notice", host=result._host.get_name(), msg=str(message))
            elif key.startswith("pbxctl_"):
                self._emit(event="data", host=result._host.get_name(), key=key, value=value)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result("ignored" if ignore_errors else "failed", result)

    def v2_runner_on_skipped(self, result):
        self._result("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._result("unreachable", result)

    def v2_runner_item_on_ok(self, result):
        self._result("changed" if result._result.get("changed") else "ok", result)
        self._notice(result)

    def v2_runner_item_on_failed(self, result):
        self._result("failed", result)

    def v2_runner_item_on_skipped(self, result):
        pass

    def v2_on_file_diff(self, result):
        parts = result._result.get("results") or [result._result]
        for part in parts:
            if part.get("diff") and part.get("changed") and not part.get("_ansible_no_log") and not _secret(result):
                self._emit(event="diff", host=result._host.get_name(), task=result._task.get_name(),
                           item=_label(part.get("item")), diff=part["diff"])

    def v2_playbook_on_stats(self, stats):
        hosts = sorted(stats.processed.keys())
        self._emit(event="stats", hosts={h: stats.summarize(h) for h in hosts})

    def v2_runner_on_async_poll(self, result):
        pass

    def v2_playbook_on_warning(self, warning):
        self._emit(event="warning", msg=str(warning))


def _label(item):
    if isinstance(item, dict):
        return item.get("name") or item.get("number") or item.get("path") or None
    return item if isinstance(item, str | int) else None


def _secret(result) -> bool:
    return result._task.no_log is True or bool(result._result.get("_ansible_no_log"))
