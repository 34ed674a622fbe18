"""Render every template of a directory on the controller and compare them with the server's in one round trip.

A template task per file costs two module runs per file even when nothing changed. This action renders the
whole directory in-process, asks the server once (find with checksums) what the destination holds, and only
for a file that differs runs the ordinary template action (which writes it and, in check mode, shows its diff);
files the destination holds that no template renders any more are removed. Templates are found by listing the
directory, so a new one is picked up without a task edit. Diffs of the files named in `secret` are left out.
"""

from __future__ import annotations

import hashlib
import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes
from ansible.plugins.action import ActionBase
from ansible.template import trust_as_template

SUFFIX = ".j2"


class ActionModule(ActionBase):
    TRANSFERS_FILES = True
    _VALID_ARGS = frozenset(("src", "dest", "owner", "group", "mode", "secret"))

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = self._task.args
        src, dest = args.get("src"), args.get("dest")
        if not src or not dest:
            raise AnsibleActionFail("src (a templates directory) and dest are required")
        owner, group, mode = args.get("owner"), args.get("group"), args.get("mode")
        secret = set(args.get("secret") or [])
        source_dir = self._find_needle("templates", src)
        names = sorted(n[: -len(SUFFIX)] for n in os.listdir(source_dir) if n.endswith(SUFFIX))
        rendered = {name: self._render(os.path.join(src, name + SUFFIX), os.path.join(source_dir, name + SUFFIX),
                                       f"{dest}/{name}", task_vars) for name in names}

        found = self._execute_module("ansible.legacy.find", module_args={
            "paths": [dest], "hidden": True, "file_type": "any", "get_checksum": True}, task_vars=task_vars)
        if found.get("failed"):
            raise AnsibleActionFail(f"could not list {dest}: {found.get('msg')}")
        present = {os.path.basename(f["path"]): f for f in found.get("files", [])}

        changed, removed, diffs = [], [], []
        for name in names:
            have = present.get(name)
            if have and self._same(have, rendered[name], owner, group, mode):
                continue
            outcome = self._template(os.path.join(src, name + SUFFIX), f"{dest}/{name}", owner, group, mode,
                                     task_vars)
            if outcome.get("failed"):
                return {**result, **outcome, "msg": f"{name}: {outcome.get('msg', 'failed')}"}
            if outcome.get("changed"):
                changed.append(name)
                if outcome.get("diff") and name not in secret:
                    diffs += outcome["diff"] if isinstance(outcome["diff"], list) else [outcome["diff"]]
        for name in sorted(set(present) - set(names)):
            gone = self._execute_module("ansible.legacy.file", module_args={
                "path": present[name]["path"], "state": "absent"}, task_vars=task_vars)
            if gone.get("failed"):
                return {**result, **gone, "msg": f"could not remove {name}: {gone.get('msg')}"}
            removed.append(name)
            diffs.append({"before_header": present[name]["path"], "after_header": present[name]["path"],
                          "before": "(a file no template renders)\n", "after": ""})
        self._remove_tmp_path(self._connection._shell.tmpdir)
        result.update(changed=bool(changed or removed), files=names, updated=changed, removed=removed)
        if diffs and self._task.diff:
            result["diff"] = diffs
        return result

    def _render(self, path: str, fullpath: str, dest: str, task_vars: dict) -> bytes:
        """The file's bytes as the template action would write them (its defaults: trim_blocks, '\\n')."""
        from ansible._internal._templating import _template_vars

        data = trust_as_template(self._loader.get_text_file_contents(fullpath))
        searchpath = [os.path.dirname(fullpath)]
        variables = {**task_vars, **_template_vars.generate_ansible_template_vars(
            path=path, fullpath=fullpath, dest_path=dest, include_ansible_managed="ansible_managed" not in task_vars)}
        templar = self._templar.copy_with_new_env(searchpath=searchpath, available_variables=variables)
        text = templar.template(data, escape_backslashes=False, overrides={
            "trim_blocks": True, "lstrip_blocks": False, "newline_sequence": "\n"})
        return to_bytes(text or "", errors="surrogate_or_strict")

    @staticmethod
    def _same(have: dict, content: bytes, owner, group, mode) -> bool:
        if have.get("checksum") != hashlib.sha1(content).hexdigest():  # noqa: S324 - Ansible's file checksum
            return False
        if owner is not None and have.get("pw_name") != owner:
            return False
        if group is not None and have.get("gr_name") != group:
            return False
        return mode is None or int(str(have.get("mode", "0")), 8) & 0o7777 == int(str(mode), 8)

    def _template(self, src, dest, owner, group, mode, task_vars) -> dict:
        task = self._task.copy()
        task.args = {k: v for k, v in {"src": src, "dest": dest, "owner": owner, "group": group,
                                       "mode": mode}.items() if v is not None}
        action = self._shared_loader_obj.action_loader.get(
            "ansible.legacy.template", task=task, connection=self._connection, play_context=self._play_context,
            loader=self._loader, templar=self._templar, shared_loader_obj=self._shared_loader_obj)
        return action.run(task_vars=task_vars)
