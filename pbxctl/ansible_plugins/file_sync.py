"""Files put on a server the way a re-apply can afford: rendered on the controller, compared with the server in one
round trip, whatever differs written in one more. The engine of the pbxctl_files and pbxctl_tree actions.

A template, copy, file or link task per path costs a module run each even when nothing changed; a re-apply of an
office was mostly such no-op runs, and a thousand phones' files most of an hour. Here one short Python run on the
server reports what every path holds (type, owner, group, mode, SHA-1, link target; whole trees listed where asked)
and, only when something differs, a second run receives the new contents in one gzipped tar on its stdin and puts
each in place: removals first, then directories, links, and files written beside their destination and renamed
over it (a reader sees the old file or the new one, never half of one; nothing is readable beyond its final mode
meanwhile), each checked first by its `validate` command where given. In check mode nothing is written and the diff
says per path what would change; a file marked secret names itself in the diff and never shows its contents.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase
from ansible.template import trust_as_template

from pbxctl.ansible_plugins.remote import run_python

# What each path holds now, and every path below each tree: one JSON line (SHA-1 of regular files, as Ansible's own
# file checksum).
SURVEY = r"""
import grp, hashlib, json, os, pwd, stat, sys
def name(table, key):
    try:
        return table(key)[0]
    except KeyError:
        return str(key)
def entry(path):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    kind = "link" if stat.S_ISLNK(st.st_mode) else "dir" if stat.S_ISDIR(st.st_mode) else \
        "file" if stat.S_ISREG(st.st_mode) else "other"
    found = {"kind": kind, "owner": name(pwd.getpwuid, st.st_uid), "group": name(grp.getgrgid, st.st_gid),
             "mode": stat.S_IMODE(st.st_mode)}
    if kind == "file":
        with open(path, "rb") as handle:
            found["sha1"] = hashlib.sha1(handle.read()).hexdigest()
    elif kind == "link":
        found["target"] = os.readlink(path)
    return found
asked = json.loads(sys.argv[1])
paths = list(asked["paths"])
for tree in asked["trees"]:
    for top, dirs, files in os.walk(tree):
        paths += [os.path.join(top, item) for item in dirs + files]
print(json.dumps({path: found for path in paths if (found := entry(path)) is not None}))
"""

# Puts the changes in place, in this order: removals, directories, links, files (tar members named by index).
APPLY = r"""
import grp, io, json, os, pwd, shutil, subprocess, sys, tarfile, tempfile
spec = json.loads(sys.argv[1])
def own(path, entry):
    os.chown(path, pwd.getpwnam(entry["owner"]).pw_uid if entry["owner"] else -1,
             grp.getgrnam(entry["group"]).gr_gid if entry["group"] else -1)
    os.chmod(path, entry["mode"])
def remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)
for path in spec["remove"]:
    remove(path)
for entry in spec["directories"]:
    path = entry["path"]
    if os.path.lexists(path) and (os.path.islink(path) or not os.path.isdir(path)):
        os.unlink(path)
    if not os.path.isdir(path):
        os.makedirs(path, 0o700)
    own(path, entry)
for entry in spec["links"]:
    path = entry["path"]
    tmp = os.path.join(os.path.dirname(path), ".pbxctl-link-" + os.path.basename(path))
    remove(tmp)
    os.symlink(entry["src"], tmp)
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    os.replace(tmp, path)
with tarfile.open(fileobj=io.BytesIO(sys.stdin.buffer.read()), mode="r:gz") as tar:
    for index, entry in enumerate(spec["files"]):
        target = entry["dest"]
        if entry.get("keep"):  # its contents are not ours to set: owner and mode only
            own(target, entry)
            continue
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".pbxctl-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(tar.extractfile(str(index)).read())
            own(tmp, entry)
            if entry.get("validate"):
                check = subprocess.run(entry["validate"].replace("%s", tmp), shell=True, capture_output=True,
                                       text=True)
                if check.returncode:
                    sys.exit(f"{target}: {entry['validate']} refused it: {check.stderr or check.stdout}")
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target)
            os.replace(tmp, target)
        except BaseException:
            if os.path.lexists(tmp):
                os.unlink(tmp)
            raise
print("applied")
"""

TEMPLATE_SUFFIX = ".j2"


def octal(value, where: str) -> int:
    if value is None:
        raise AnsibleActionFail(f"{where}: mode is required")
    return int(str(value), 8)


def sha1(content: bytes) -> str:
    return hashlib.sha1(content).hexdigest()  # noqa: S324 - Ansible's own file checksum


def _name(value) -> str | None:
    return None if value is None else str(value)


def directory(path: str, owner, group, mode: int) -> dict:
    """A directory wanted; owner or group None: whatever it has."""
    return {"path": path, "owner": _name(owner), "group": _name(group), "mode": mode}


def file(dest: str, content: bytes, owner, group, mode: int, *, secret=False, validate=None, if_missing=False) -> dict:
    """A file wanted; owner or group None: whatever it has."""
    return {"dest": dest, "owner": _name(owner), "group": _name(group), "mode": mode, "content": content,
            "secret": bool(secret), "validate": validate, "if_missing": bool(if_missing)}


def _ownership(have: dict | None) -> str:
    return f"({have['kind']} {have['owner']}:{have['group']} {have['mode']:04o})\n" if have else ""


class SyncAction(ActionBase):
    """An action that says what it wants (`wanted`: directories, links, files, removals, from what the server holds)
    and leaves the comparing, the diff and the writing to this class."""

    TRANSFERS_FILES = True

    def run(self, tmp=None, task_vars=None):
        self._task_vars = task_vars or {}
        result = super().run(tmp, self._task_vars)
        want = self.wanted(self._task.args, self._task_vars)
        return self.sync(result, **want)

    def wanted(self, args: dict, task_vars: dict) -> dict:
        """present (from `survey`), and any of directories, links, files, remove, removed_note."""
        raise NotImplementedError

    def render(self, template: str, dest: str, task_vars: dict, fullpath: str | None = None) -> bytes:
        """A template's bytes as the template action would write them (its defaults: trim_blocks, '\\n')."""
        from ansible._internal._templating import _template_vars

        fullpath = fullpath or self._find_needle("templates", template)
        data = trust_as_template(self._loader.get_text_file_contents(fullpath))
        variables = {**task_vars, **_template_vars.generate_ansible_template_vars(
            path=template, fullpath=fullpath, dest_path=dest,
            include_ansible_managed="ansible_managed" not in task_vars)}
        templar = self._templar.copy_with_new_env(searchpath=[os.path.dirname(fullpath)],
                                                  available_variables=variables)
        text = templar.template(data, escape_backslashes=False, overrides={
            "trim_blocks": True, "lstrip_blocks": False, "newline_sequence": "\n"})
        return to_bytes(text or "", errors="surrogate_or_strict")

    def survey(self, paths: list[str], trees: tuple[str, ...] = ()) -> dict[str, dict]:
        """What the server holds at each path, and at every path below each tree."""
        outcome = self._run_python(SURVEY, {"paths": paths, "trees": list(trees)}, None)
        if outcome.get("rc"):
            raise AnsibleActionFail(f"could not read the files' state: {to_text(outcome.get('stderr', ''))[-2000:]}")
        return json.loads(to_text(outcome.get("stdout", "")).strip().splitlines()[-1])

    def sync(self, result: dict, present: dict, directories=(), links=(), files=(), remove=(),
             removed_note="(a file the tree no longer has)\n") -> dict:
        """Fills the task's result with what differs (and its diff), and outside check mode puts it in place."""
        directories = [d for d in directories if not self._same(present.get(d["path"]), d, "dir")]
        links = [link for link in links if (present.get(link["path"]) or {}).get("target") != link["src"]
                 or present[link["path"]]["kind"] != "link"]
        files = [f for f in files if not self._same(present.get(f["dest"]), f, "file")]
        updated = [d["path"] for d in directories] + [link["path"] for link in links] + [f["dest"] for f in files]
        result.update(changed=bool(updated or remove), updated=updated, removed=list(remove))
        if self._task.diff and result["changed"]:
            result["diff"] = self._diffs(directories, links, files, remove, present, removed_note)
        if result["changed"] and not self._task.check_mode:
            outcome = self._apply(directories, links, files, remove, present)
            if outcome.get("rc"):
                result.update(failed=True, changed=False,
                              msg=to_text(outcome.get("stderr", ""))[-2000:] or "could not write the files")
        self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    @staticmethod
    def _same(have: dict | None, want: dict, kind: str) -> bool:
        if not have or have["kind"] != kind:
            return False
        if kind == "file" and not want["if_missing"] and have.get("sha1") != sha1(want["content"]):
            return False
        return (want["owner"] in (None, have["owner"]) and want["group"] in (None, have["group"])
                and have["mode"] == want["mode"])

    def _diffs(self, directories, links, files, remove, present, removed_note) -> list[dict]:
        def entry(path, before, after):
            return {"before_header": path, "after_header": path, "before": before, "after": after}

        diffs = [entry(d["path"], _ownership(present.get(d["path"])),
                       f"(dir {d['owner'] or '-'}:{d['group'] or '-'} {d['mode']:04o})\n") for d in directories]
        diffs += [entry(link["path"], f"(link to {present[link['path']].get('target')})\n"
                        if link["path"] in present else "", f"(link to {link['src']})\n") for link in links]
        for want in files:
            path, have = want["dest"], present.get(want["dest"])
            if have and (want["if_missing"] or have.get("sha1") == sha1(want["content"])):
                diffs.append(entry(path, _ownership(have), f"(file {want['owner'] or '-'}:"
                                                           f"{want['group'] or '-'} {want['mode']:04o})\n"))
            elif want["secret"]:
                diffs.append(entry(path, "(old contents not shown: the file holds secrets)\n" if have else "",
                                   "(new contents not shown: the file holds secrets)\n"))
            else:
                before = self._remote_text(path) if have and have["kind"] == "file" else ""
                after = to_text(want["content"], errors="surrogate_or_replace")
                diffs.append(entry(path, before, "(binary)\n" if "\0" in after else after))
        diffs += [entry(path, removed_note, "") for path in remove]
        return diffs

    def _remote_text(self, path: str) -> str:
        read = self._execute_module("ansible.legacy.slurp", module_args={"src": path}, task_vars=self._task_vars)
        if read.get("failed"):
            return ""
        data = base64.b64decode(read.get("content", ""))
        return "(binary)\n" if b"\0" in data else to_text(data, errors="surrogate_or_replace")

    def _apply(self, directories, links, files, remove, present) -> dict:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
            for index, want in enumerate(files):
                info = tarfile.TarInfo(str(index))
                info.size = len(want["content"])
                tar.addfile(info, io.BytesIO(want["content"]))
        spec = {"remove": list(remove), "directories": directories, "links": links,
                "files": [{"dest": f["dest"], "owner": f["owner"], "group": f["group"], "mode": f["mode"],
                           "validate": f["validate"], "keep": f["if_missing"] and f["dest"] in present}
                          for f in files]}
        return self._run_python(APPLY, spec, buffer.getvalue())

    def _run_python(self, script: str, argument, stdin: bytes | None) -> dict:
        return run_python(self, self._task_vars, script, argument, stdin)
