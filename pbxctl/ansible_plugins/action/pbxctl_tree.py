"""Put a whole directory tree on the server in one task: templates rendered on the controller, or files taken as
they are, compared with what the destination holds in one round trip, whatever differs shipped in one archive.

A template or copy task per file costs a module run or two per file even when nothing changed (for a thousand
phones' files, most of an hour). Here a run costs one `find` with checksums; when something differs, one more
command receives every new or changed file in one gzipped tar on its stdin, writes each beside its destination
and renames it into place (a reader sees the old file or the new one, never half of one; a file is never readable
beyond its final mode meanwhile), sets owner, group and mode, and removes what the tree no longer has. In check
mode nothing is written and the diff says per file what would change. Files named in `secret` (or all, with
`secret: true`) hold passwords: their diff names the file and never shows its contents.

    pbxctl_tree:
      src: etc/asterisk          # templates/ of the role (render: true; every *.j2 below it), or a directory on
      render: true               # the controller whose files are copied as they are (files/ of the role or a path)
      files: [a.cfg, sub/b.cfg]  # optional: only these paths below src (default: every file below it)
      dest: /etc/asterisk/staging
      owner: root
      group: asterisk
      mode: "0640"
      dir_mode: "0750"           # optional: directories below dest (default: mode, with x where r is)
      secret: [pjsip.conf]       # or true
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shlex
import tarfile

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase
from ansible.template import trust_as_template

SUFFIX = ".j2"

# Runs on the server with the tar on stdin: removals first (a path may turn from a directory into a file), then
# the directories, then each file written to a temporary name beside it (mkstemp: 0600) and renamed over it.
APPLY = r"""
import grp, io, json, os, pwd, shutil, sys, tarfile, tempfile
spec = json.loads(sys.argv[1])
uid = pwd.getpwnam(spec["owner"]).pw_uid if spec["owner"] else -1
gid = grp.getgrnam(spec["group"]).gr_gid if spec["group"] else -1
dest = spec["dest"]
def own(path, mode):
    os.chown(path, uid, gid)
    os.chmod(path, mode)
for rel in spec["remove"]:
    path = os.path.join(dest, rel)
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)
os.makedirs(dest, exist_ok=True)
for rel in spec["dirs"]:
    path = os.path.join(dest, rel)
    if not os.path.isdir(path):
        os.mkdir(path, 0o700)
    own(path, spec["dir_mode"])
with tarfile.open(fileobj=io.BytesIO(sys.stdin.buffer.read()), mode="r:gz") as tar:
    for member in tar.getmembers():
        target = os.path.join(dest, member.name)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".pbxctl-tree-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(tar.extractfile(member).read())
            own(tmp, spec["mode"])
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
print("applied")
"""


def _mode(value) -> int | None:
    return None if value is None else int(str(value), 8)


def _dir_mode(mode: int) -> int:
    """A directory's mode from its files' one: searchable wherever readable (0640 -> 0750, 0644 -> 0755)."""
    return mode | ((mode & 0o444) >> 2)


def _parents(paths) -> list[str]:
    """Every directory the relative paths sit in, parents before children."""
    found = set()
    for path in paths:
        parent = os.path.dirname(path)
        while parent:
            found.add(parent)
            parent = os.path.dirname(parent)
    return sorted(found, key=lambda p: (p.count("/"), p))


class ActionModule(ActionBase):
    TRANSFERS_FILES = True
    _VALID_ARGS = frozenset(("src", "render", "files", "dest", "owner", "group", "mode", "dir_mode", "secret"))

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = self._task.args
        src, dest, render = args.get("src"), args.get("dest"), bool(args.get("render", False))
        if not src or not dest or args.get("mode") is None:
            raise AnsibleActionFail("src, dest and mode are required")
        owner, group, mode = args.get("owner"), args.get("group"), _mode(args["mode"])
        dir_mode = _mode(args.get("dir_mode")) or _dir_mode(mode)
        secret = args.get("secret") or []
        hidden = (lambda name: True) if secret is True else (lambda name: name in set(secret))
        dest = dest.rstrip("/")

        wanted = self._wanted(src, render, args.get("files"), dest, task_vars)
        dirs = _parents(wanted)
        present = self._present(dest, task_vars)

        changed = [name for name, content in wanted.items() if not self._same(present.get(name), content, owner,
                                                                              group, mode)]
        dirs_changed = [d for d in dirs if not self._same_dir(present.get(d), owner, group, dir_mode)]
        removed = self._stale(present, wanted, set(dirs))
        result.update(changed=bool(changed or dirs_changed or removed), files=len(wanted), updated=changed,
                      removed=removed)
        if self._task.diff and (changed or removed):
            result["diff"] = self._diffs(dest, wanted, changed, removed, present, hidden, task_vars)
        if result["changed"] and not self._task.check_mode:
            outcome = self._apply(dest, wanted, changed, dirs, removed, owner, group, mode, dir_mode, task_vars)
            if outcome.get("rc"):
                return {**result, "failed": True, "changed": False,
                        "msg": f"could not write {dest}: {to_text(outcome.get('stderr', ''))[-2000:]}"}
        self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _wanted(self, src, render, files, dest, task_vars) -> dict[str, bytes]:
        """The tree's relative paths and the bytes each should hold."""
        root = self._find_needle("templates" if render else "files", src)
        if files is None:
            files = sorted(os.path.relpath(os.path.join(top, name), root)
                           for top, _, names in os.walk(root) for name in names
                           if not render or name.endswith(SUFFIX))
            if render:
                files = [name[: -len(SUFFIX)] for name in files]
        wanted = {}
        for name in files:
            name = str(name)
            if name.startswith("/") or ".." in name.split("/"):
                raise AnsibleActionFail(f"{name}: not a path below {src}")
            if render:
                wanted[name] = self._render(os.path.join(src, name + SUFFIX), os.path.join(root, name + SUFFIX),
                                            f"{dest}/{name}", task_vars)
            else:
                with open(os.path.join(root, name), "rb") as handle:
                    wanted[name] = handle.read()
        return wanted

    @staticmethod
    def _stale(present, wanted, dirs) -> list[str]:
        """What goes: paths the tree lacks, and a file where a directory belongs or the other way round; a path
        inside one that goes is not listed (it goes with it). Deepest first."""
        stale = {path for path, have in present.items()
                 if (path in wanted and have.get("isdir")) or (path in dirs and not have.get("isdir"))
                 or (path not in wanted and path not in dirs)}
        return sorted((path for path in stale if not any(parent in stale for parent in _parents([path]))),
                      reverse=True)

    def _present(self, dest, task_vars) -> dict[str, dict]:
        found = self._execute_module("ansible.legacy.find", module_args={
            "paths": [dest], "recurse": True, "hidden": True, "file_type": "any", "get_checksum": True},
            task_vars=task_vars)
        if found.get("failed"):
            raise AnsibleActionFail(f"could not list {dest}: {found.get('msg')}")
        return {os.path.relpath(f["path"], dest): f for f in found.get("files", [])}

    def _render(self, path: str, fullpath: str, dest: str, task_vars: dict) -> bytes:
        """The file's bytes as the template action would write them (its defaults: trim_blocks, '\\n')."""
        from ansible._internal._templating import _template_vars

        data = trust_as_template(self._loader.get_text_file_contents(fullpath))
        variables = {**task_vars, **_template_vars.generate_ansible_template_vars(
            path=path, fullpath=fullpath, dest_path=dest, include_ansible_managed="ansible_managed" not in task_vars)}
        templar = self._templar.copy_with_new_env(searchpath=[os.path.dirname(fullpath)],
                                                  available_variables=variables)
        text = templar.template(data, escape_backslashes=False, overrides={
            "trim_blocks": True, "lstrip_blocks": False, "newline_sequence": "\n"})
        return to_bytes(text or "", errors="surrogate_or_strict")

    @staticmethod
    def _owned(have: dict, owner, group, mode) -> bool:
        if owner is not None and have.get("pw_name") != owner:
            return False
        if group is not None and have.get("gr_name") != group:
            return False
        return int(str(have.get("mode", "0")), 8) & 0o7777 == mode

    def _same(self, have: dict | None, content: bytes, owner, group, mode) -> bool:
        return bool(have and have.get("isreg") and not have.get("islnk")
                    and have.get("checksum") == hashlib.sha1(content).hexdigest()  # noqa: S324 - Ansible's checksum
                    and self._owned(have, owner, group, mode))

    def _same_dir(self, have: dict | None, owner, group, mode) -> bool:
        return bool(have and have.get("isdir") and not have.get("islnk") and self._owned(have, owner, group, mode))

    def _diffs(self, dest, wanted, changed, removed, present, hidden, task_vars) -> list[dict]:
        diffs = []
        for name in changed:
            path, have = f"{dest}/{name}", present.get(name) or {}
            same_bytes = have.get("checksum") == hashlib.sha1(wanted[name]).hexdigest()  # noqa: S324
            if same_bytes:  # only owner, group or mode differ
                before = f"({have.get('pw_name')}:{have.get('gr_name')} {have.get('mode')})\n"
                after = "(owner, group and mode as the task says)\n"
            elif hidden(name):
                before = "(old contents not shown: the file holds secrets)\n" if have.get("isreg") else ""
                after = "(new contents not shown: the file holds secrets)\n"
            else:
                before = self._remote_text(path, task_vars) if have.get("isreg") else ""
                after = to_text(wanted[name], errors="surrogate_or_replace")
                after = "(binary)\n" if "\0" in after else after
            diffs.append({"before_header": path, "after_header": path, "before": before, "after": after})
        for name in removed:
            path = f"{dest}/{name}"
            diffs.append({"before_header": path, "after_header": path,
                          "before": "(a file the tree no longer has)\n", "after": ""})
        return diffs

    def _remote_text(self, path, task_vars) -> str:
        read = self._execute_module("ansible.legacy.slurp", module_args={"src": path}, task_vars=task_vars)
        if read.get("failed"):
            return ""
        data = base64.b64decode(read.get("content", ""))
        return "(binary)\n" if b"\0" in data else to_text(data, errors="surrogate_or_replace")

    def _apply(self, dest, wanted, changed, dirs, removed, owner, group, mode, dir_mode, task_vars) -> dict:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
            for name in changed:
                info = tarfile.TarInfo(name)
                info.size = len(wanted[name])
                tar.addfile(info, io.BytesIO(wanted[name]))
        spec = {"dest": dest, "owner": owner, "group": group, "mode": mode, "dir_mode": dir_mode,
                "dirs": dirs, "remove": removed}
        python = self._python(task_vars)
        command = " ".join(shlex.quote(part) for part in (python, "-c", APPLY, json.dumps(spec)))
        return self._low_level_execute_command(command, in_data=buffer.getvalue())

    def _python(self, task_vars) -> str:
        """The server's Python: the one the inventory names, or the one Ansible found for the find just run."""
        named = task_vars.get("ansible_python_interpreter")
        if named and not str(named).startswith("auto"):
            return str(self._templar.template(named))
        return str((task_vars.get("ansible_facts") or {}).get("discovered_interpreter_python") or "/usr/bin/python3")
