"""A role's scattered files, directories and links put in place by one task (pbxctl/ansible_plugins/file_sync.py:
rendered on the controller, one survey of the server, one write of whatever differs). The result's `updated` lists
every path that changed, for handlers to pick theirs from.

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

Owner and group default to root; directories and links are put in place first (in the order given), then files.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes

from pbxctl.ansible_plugins.file_sync import SyncAction, directory, file, octal


class ActionModule(SyncAction):
    _VALID_ARGS = frozenset(("files", "directories", "links"))

    def wanted(self, args: dict, task_vars: dict) -> dict:
        directories = [directory(str(d["path"]), d.get("owner", "root"), d.get("group", "root"),
                                 octal(d.get("mode"), d["path"])) for d in args.get("directories") or []]
        links = [{"path": str(link["path"]), "src": str(link["src"])} for link in args.get("links") or []]
        files = [self._file(entry, task_vars) for entry in args.get("files") or []]
        present = self.survey([d["path"] for d in directories] + [link["path"] for link in links]
                              + [f["dest"] for f in files])
        return {"present": present, "directories": directories, "links": links, "files": files}

    def _file(self, entry: dict, task_vars: dict) -> dict:
        dest = str(entry["dest"])
        if "template" in entry:
            content = self.render(str(entry["template"]), dest, task_vars)
        elif "src" in entry:  # files/ of the role, or below src_dir on the controller
            src = os.path.join(str(entry["src_dir"]), str(entry["src"])) if entry.get("src_dir") else str(entry["src"])
            with open(self._find_needle("files", src), "rb") as handle:
                content = handle.read()
        elif "content" in entry:
            content = to_bytes(entry["content"], errors="surrogate_or_strict")
        else:
            raise AnsibleActionFail(f"{dest}: one of template, src or content is required")
        return file(dest, content, entry.get("owner", "root"), entry.get("group", "root"),
                    octal(entry.get("mode"), dest),
                    secret=entry.get("secret"), validate=entry.get("validate"), if_missing=entry.get("if_missing"))
