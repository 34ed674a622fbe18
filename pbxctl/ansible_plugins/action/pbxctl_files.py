"""A role's scattered files, directories and links put in place by one task: rendered on the controller, compared
with the server in one round trip, whatever differs written in one more.

A template, copy, file or link task per path costs a module run each even when nothing changed, and a re-apply of
an office is mostly such no-op runs. Here the whole list is rendered in-process, one short Python run on the server
reports what every path holds (type, owner, group, mode, SHA-1, link target), and only when something differs does
a second run receive the new contents (a gzipped tar on its stdin) and put each in place: written beside its
destination and renamed over it (a reader sees the old file or the new one), checked first by `validate` where
given. In check mode nothing is written and the diff names each path that would change; files marked `secret` never
show their contents. The result's `updated` lists every path that changed, for handlers to pick theirs from.

    pbxctl_files:
      directories:
        - {path: /etc/pbxctl, owner: root, group: root, mode: "0755"}
      links:
        - {path: /etc/localtime, src: /usr/share/zoneinfo/Europe/Moscow}
      files:
        - {dest: /etc/pbxctl/security.nft, template: etc/pbxctl/security.nft.j2, mode: "0644",
           validate: "nft -c -f %s"}
        - {dest: /usr/local/sbin/pbxctl-guard, src: pbxctl-guard, mode: "0755"}   # files/ of the role
        - {dest: /var/lib/asterisk/sounds/x.wav, src: x.wav, src_dir: /site/dir, mode: "0644"}
        - {dest: /etc/pbxctl/alert.conf, content: "...", group: asterisk, mode: "0640", secret: true}
        - {dest: /etc/nut/dummy.dev, content: "...", mode: "0660", if_missing: true}  # contents only when new

Owner and group default to root; directories and links come first (in the order given), then files.
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

# What each path holds now: one JSON line, the SHA-1 of regular files only (Ansible's own file checksum).
SURVEY = r"""
import grp, hashlib, json, os, pwd, stat, sys
def name(table, key):
    try:
        return table(key)[0]
    except KeyError:
        return str(key)
found = {}
for path in json.loads(sys.argv[1]):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        continue
    kind = "link" if stat.S_ISLNK(st.st_mode) else "dir" if stat.S_ISDIR(st.st_mode) else \
        "file" if stat.S_ISREG(st.st_mode) else "other"
    entry = {"kind": kind, "owner": name(pwd.getpwuid, st.st_uid), "group": name(grp.getgrgid, st.st_gid),
             "mode": stat.S_IMODE(st.st_mode)}
    if kind == "file":
        with open(path, "rb") as handle:
            entry["sha1"] = hashlib.sha1(handle.read()).hexdigest()
    elif kind == "link":
        entry["target"] = os.readlink(path)
    found[path] = entry
print(json.dumps(found))
"""

# Puts the changes in place, in order: directories, links, then files (tar members named by their index).
APPLY = r"""
import grp, io, json, os, pwd, shutil, subprocess, sys, tarfile, tempfile
spec = json.loads(sys.argv[1])
def ids(entry):
    return pwd.getpwnam(entry["owner"]).pw_uid, grp.getgrnam(entry["group"]).gr_gid
for entry in spec["directories"]:
    path = entry["path"]
    if os.path.lexists(path) and (os.path.islink(path) or not os.path.isdir(path)):
        os.unlink(path)
    os.makedirs(path, exist_ok=True)
    os.chown(path, *ids(entry))
    os.chmod(path, entry["mode"])
for entry in spec["links"]:
    path = entry["path"]
    tmp = os.path.join(os.path.dirname(path), ".pbxctl-link-" + os.path.basename(path))
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(entry["src"], tmp)
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    os.replace(tmp, path)
with tarfile.open(fileobj=io.BytesIO(sys.stdin.buffer.read()), mode="r:gz") as tar:
    for index, entry in enumerate(spec["files"]):
        target = entry["dest"]
        if entry.get("keep"):  # its contents are not ours to set: owner and mode only
            os.chown(target, *ids(entry))
            os.chmod(target, entry["mode"])
            continue
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".pbxctl-files-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(tar.extractfile(str(index)).read())
            os.chown(tmp, *ids(entry))
            os.chmod(tmp, entry["mode"])
            if entry.get("validate"):
                check = subprocess.run(entry["validate"].replace("%s", tmp), shell=True, capture_output=True,
                                       text=True)
                if check.returncode:
                    sys.exit(f"{target}: {entry['validate']} refused it: {check.stderr or check.stdout}")
            os.replace(tmp, target)
        except BaseException:
            if os.path.lexists(tmp):
                os.unlink(tmp)
            raise
print("applied")
"""


def _mode(value, where: str) -> int:
    if value is None:
        raise AnsibleActionFail(f"{where}: mode is required")
    return int(str(value), 8)


class ActionModule(ActionBase):
    TRANSFERS_FILES = True
    _VALID_ARGS = frozenset(("files", "directories", "links"))

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = self._task.args
        directories = [self._directory(entry) for entry in args.get("directories") or []]
        links = [{"path": str(entry["path"]), "src": str(entry["src"])} for entry in args.get("links") or []]
        files = [self._file(entry, task_vars) for entry in args.get("files") or []]

        present = self._survey([d["path"] for d in directories] + [link["path"] for link in links]
                               + [f["dest"] for f in files], task_vars)
        directories = [d for d in directories if not self._same(present.get(d["path"]), d, "dir")]
        links = [link for link in links if (present.get(link["path"]) or {}).get("target") != link["src"]]
        files = [f for f in files if not self._same(present.get(f["dest"]), f, "file")]
        updated = [d["path"] for d in directories] + [link["path"] for link in links] + [f["dest"] for f in files]
        result.update(changed=bool(updated), updated=updated)
        if self._task.diff and updated:
            result["diff"] = self._diffs(directories, links, files, present, task_vars)
        if updated and not self._task.check_mode:
            outcome = self._apply(directories, links, files, present, task_vars)
            if outcome.get("rc"):
                return {**result, "failed": True, "changed": False,
                        "msg": to_text(outcome.get("stderr", ""))[-2000:] or "could not write the files"}
        return result

    @staticmethod
    def _directory(entry: dict) -> dict:
        path = str(entry["path"])
        return {"path": path, "owner": str(entry.get("owner", "root")), "group": str(entry.get("group", "root")),
                "mode": _mode(entry.get("mode"), path)}

    def _file(self, entry: dict, task_vars: dict) -> dict:
        dest = str(entry["dest"])
        if "template" in entry:
            content = self._render(str(entry["template"]), dest, task_vars)
        elif "src" in entry:  # files/ of the role, or below src_dir on the controller
            src = os.path.join(str(entry["src_dir"]), str(entry["src"])) if entry.get("src_dir") else str(entry["src"])
            with open(self._find_needle("files", src), "rb") as handle:
                content = handle.read()
        elif "content" in entry:
            content = to_bytes(entry["content"], errors="surrogate_or_strict")
        else:
            raise AnsibleActionFail(f"{dest}: one of template, src or content is required")
        return {"dest": dest, "owner": str(entry.get("owner", "root")), "group": str(entry.get("group", "root")),
                "mode": _mode(entry.get("mode"), dest), "content": content, "secret": bool(entry.get("secret")),
                "validate": entry.get("validate"), "if_missing": bool(entry.get("if_missing"))}

    def _render(self, template: str, dest: str, task_vars: dict) -> bytes:
        """The file's bytes as the template action would write them (its defaults: trim_blocks, '\\n')."""
        from ansible._internal._templating import _template_vars

        fullpath = self._find_needle("templates", template)
        data = trust_as_template(self._loader.get_text_file_contents(fullpath))
        variables = {**task_vars, **_template_vars.generate_ansible_template_vars(
            path=template, fullpath=fullpath, dest_path=dest,
            include_ansible_managed="ansible_managed" not in task_vars)}
        templar = self._templar.copy_with_new_env(searchpath=[os.path.dirname(fullpath)],
                                                  available_variables=variables)
        text = templar.template(data, escape_backslashes=False, overrides={
            "trim_blocks": True, "lstrip_blocks": False, "newline_sequence": "\n"})
        return to_bytes(text or "", errors="surrogate_or_strict")

    @staticmethod
    def _same(have: dict | None, want: dict, kind: str) -> bool:
        if not have or have["kind"] != kind:
            return False
        if kind == "file" and not want["if_missing"] and \
                have.get("sha1") != hashlib.sha1(want["content"]).hexdigest():  # noqa: S324
            return False
        return (have["owner"], have["group"], have["mode"]) == (want["owner"], want["group"], want["mode"])

    def _survey(self, paths: list[str], task_vars: dict) -> dict[str, dict]:
        outcome = self._run_python(SURVEY, paths, None, task_vars)
        if outcome.get("rc"):
            raise AnsibleActionFail(f"could not read the files' state: {to_text(outcome.get('stderr', ''))[-2000:]}")
        return json.loads(to_text(outcome.get("stdout", "")).strip().splitlines()[-1])

    def _diffs(self, directories, links, files, present, task_vars) -> list[dict]:
        def entry(path, before, after):
            return {"before_header": path, "after_header": path, "before": before, "after": after}

        def ownership(have):
            return f"({have['kind']} {have['owner']}:{have['group']} {have['mode']:04o})\n" if have else ""

        diffs = [entry(d["path"], ownership(present.get(d["path"])),
                       f"(directory {d['owner']}:{d['group']} {d['mode']:04o})\n") for d in directories]
        diffs += [entry(link["path"], f"(link to {(present.get(link['path']) or {}).get('target')})\n"
                        if link["path"] in present else "", f"(link to {link['src']})\n") for link in links]
        for want in files:
            path, have = want["dest"], present.get(want["dest"])
            if have and (want["if_missing"] or have.get("sha1") == hashlib.sha1(want["content"]).hexdigest()):  # noqa: S324
                diffs.append(entry(path, ownership(have),
                                   f"(file {want['owner']}:{want['group']} {want['mode']:04o})\n"))
            elif want["secret"]:
                diffs.append(entry(path, "(old contents not shown: the file holds secrets)\n" if have else "",
                                   "(new contents not shown: the file holds secrets)\n"))
            else:
                before = self._remote_text(path, task_vars) if have and have["kind"] == "file" else ""
                after = to_text(want["content"], errors="surrogate_or_replace")
                diffs.append(entry(path, before, "(binary)\n" if "\0" in after else after))
        return diffs

    def _remote_text(self, path: str, task_vars: dict) -> str:
        read = self._execute_module("ansible.legacy.slurp", module_args={"src": path}, task_vars=task_vars)
        if read.get("failed"):
            return ""
        data = base64.b64decode(read.get("content", ""))
        return "(binary)\n" if b"\0" in data else to_text(data, errors="surrogate_or_replace")

    def _apply(self, directories, links, files, present, task_vars) -> dict:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
            for index, want in enumerate(files):
                want["keep"] = want["if_missing"] and want["dest"] in present
                info = tarfile.TarInfo(str(index))
                info.size = len(want["content"])
                tar.addfile(info, io.BytesIO(want["content"]))
        spec = {"directories": directories, "links": links,
                "files": [{k: v for k, v in f.items() if k in ("dest", "owner", "group", "mode", "validate", "keep")}
                          for f in files]}
        return self._run_python(APPLY, spec, buffer.getvalue(), task_vars)

    def _run_python(self, script: str, argument, stdin: bytes | None, task_vars: dict) -> dict:
        command = " ".join(shlex.quote(part) for part in (self._python(task_vars), "-c", script,
                                                          json.dumps(argument)))
        return self._low_level_execute_command(command, in_data=stdin)  # as root when the task has become

    def _python(self, task_vars: dict) -> str:
        named = task_vars.get("ansible_python_interpreter")
        if named and not str(named).startswith("auto"):
            return str(self._templar.template(named))
        return str((task_vars.get("ansible_facts") or {}).get("discovered_interpreter_python") or "/usr/bin/python3")
