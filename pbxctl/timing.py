"""How long a run's tasks took and how many ran: the summary after every plan/apply and `--profile`.

The callback stamps every event with a monotonic time. Under the linear strategy a task lasts from its start
to the start of the next task (or handler, play, recap), whatever the hosts did in between, so the durations
add up to the run.
"""

from dataclasses import dataclass

COUNTED = ("ok", "changed", "skipped", "failed", "unreachable", "ignored")
BOUNDARIES = ("task", "play", "stats")


@dataclass
class TaskTime:
    name: str
    seconds: float
    handler: bool = False

    def as_json(self) -> dict:
        return {"task": self.name, "seconds": round(self.seconds, 3), "handler": self.handler}


class Timer:
    """Fed every callback event in order; keeps each task's duration and whether anything ran it."""

    def __init__(self) -> None:
        self.tasks: list[TaskTime] = []
        self._open: tuple[TaskTime, float] | None = None
        self._ran = False  # the open task produced at least one result (a host ran or skipped it)
        self.run_count = 0  # tasks with a result on some host (Ansible lists a task with no host too)

    def feed(self, event: dict) -> None:
        kind, stamp = event.get("event"), event.get("t")
        if kind in COUNTED and self._open:
            self._ran = True
        if kind not in BOUNDARIES or not isinstance(stamp, int | float):
            return
        self._close(stamp)
        if kind == "task":
            self._open = (TaskTime(str(event.get("name", "")), 0.0, bool(event.get("handler"))), stamp)

    def _close(self, stamp: float) -> None:
        if self._open:
            task, started = self._open
            task.seconds = max(0.0, stamp - started)
            if self._ran:
                self.tasks.append(task)
                self.run_count += 1
        self._open, self._ran = None, False


def summary_lines(stats: dict, seconds: float, tasks_run: int) -> list[str]:
    """Per host ok/changed/skipped/failed, then the run's time and how many tasks ran."""
    lines = [f"{host}: ok={c.get('ok', 0)} changed={c.get('changed', 0)} skipped={c.get('skipped', 0)} "
             f"failed={c.get('failures', 0)} unreachable={c.get('unreachable', 0)}"
             for host, c in sorted(stats.items())]
    lines.append(f"{seconds:.1f} s, {tasks_run} tasks run")
    return lines


def profile_lines(tasks: list[TaskTime], total: float, count: int = 15) -> list[str]:
    """The slowest tasks, with their share of the run."""
    ranked = sorted(tasks, key=lambda t: t.seconds, reverse=True)[:count]
    lines = [f"slowest {len(ranked)} of {len(tasks)} tasks:"]
    for task in ranked:
        share = 100 * task.seconds / total if total > 0 else 0.0
        kind = " (handler)" if task.handler else ""
        lines.append(f"  {task.seconds:6.2f} s {share:4.0f}%  {task.name}{kind}")
    return lines
