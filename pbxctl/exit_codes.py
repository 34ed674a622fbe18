"""pbxctl's exit codes: its own numbers, so CI can tell a wrong site from a failed task or a pending change.

Ansible's own codes overlap (2 is a failed host, 4 both unreachable and a parse error), so a run's outcome is
read from its per-host stats rather than passed on.
"""

OK = 0
# 1 is left to Python: an unexpected error (a bug) ends with a traceback and 1
CHANGES_PENDING = 2  # plan --detailed-exitcode: the run succeeded and would change something
SITE_INVALID = 3  # the site, its secrets or the command's arguments are wrong; nothing was run
UNREACHABLE = 4  # a host could not be reached (and no task failed)
TASK_FAILED = 5  # a task failed on a host
ANSIBLE_ERROR = 6  # Ansible itself stopped: a playbook missing or unreadable, bad options, interrupted
USAGE = 64  # unknown command or option (BSD EX_USAGE; Click's own 2 would read as "changes pending")


def for_run(result, detailed: bool = False) -> int:
    """A finished run's code, from what it reports (a pbxctl.run.RunResult)."""
    stats = result.stats.values()
    if any(counts.get("failures") for counts in stats):
        return TASK_FAILED
    if any(counts.get("unreachable") for counts in stats):
        return UNREACHABLE
    if result.returncode != 0 or not result.recap:
        return ANSIBLE_ERROR  # stopped before its recap: nothing it ran can be vouched for
    return CHANGES_PENDING if detailed and result.changed else OK
