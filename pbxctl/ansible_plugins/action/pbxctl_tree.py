"""Put a whole directory tree on the server in one task: templates rendered on the controller, or files taken as
they are, compared with what the destination holds in one round trip, whatever differs shipped in one archive, and
what the tree no longer has removed (pbxctl/ansible_plugins/file_sync.py does the comparing and writing).

A template or copy task per file costs a module run or two per file even when nothing changed (for a thousand
phones' files, most of an hour). Files named in `secret` (or all, with `secret: true`) hold passwords: their diff
names the file and never shows its contents.

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

import os

from ansible.errors import AnsibleActionFail

from pbxctl.ansible_plugins.file_sync import TEMPLATE_SUFFIX, SyncAction, directory, file, octal


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


def _stale(present: dict[str, dict], wanted, dirs: set[str]) -> list[str]:
    """What goes (relative paths): what the tree lacks, and a file where a directory belongs or the other way
    round; a path inside one that goes is not listed (it goes with it). Deepest first."""
    stale = {path for path, have in present.items()
             if (path in wanted and have["kind"] == "dir") or (path in dirs and have["kind"] != "dir")
             or (path not in wanted and path not in dirs)}
    return sorted((path for path in stale if not any(parent in stale for parent in _parents([path]))), reverse=True)


class ActionModule(SyncAction):
    _VALID_ARGS = frozenset(("src", "render", "files", "dest", "owner", "group", "mode", "dir_mode", "secret"))

    def wanted(self, args: dict, task_vars: dict) -> dict:
        src, dest, render = args.get("src"), args.get("dest"), bool(args.get("render", False))
        if not src or not dest or args.get("mode") is None:
            raise AnsibleActionFail("src, dest and mode are required")
        owner, group, mode = args.get("owner"), args.get("group"), octal(args["mode"], dest)
        dir_mode = octal(args["dir_mode"], dest) if args.get("dir_mode") else _dir_mode(mode)
        secret = args.get("secret") or []
        hidden = (lambda name: True) if secret is True else (lambda name: name in set(secret))
        dest = dest.rstrip("/")

        contents = self._contents(src, render, args.get("files"), dest, task_vars)
        dirs = _parents(contents)
        found = self.survey([dest], trees=(dest,))
        present = {os.path.relpath(path, dest): have for path, have in found.items() if path != dest}
        return {
            "present": found,
            # the destination itself is made where missing, and left as it is where it exists
            "directories": ([] if dest in found else [directory(dest, owner, group, dir_mode)])
                           + [directory(f"{dest}/{d}", owner, group, dir_mode) for d in dirs],
            "files": [file(f"{dest}/{name}", content, owner, group, mode, secret=hidden(name))
                      for name, content in contents.items()],
            "remove": [f"{dest}/{name}" for name in _stale(present, contents, set(dirs))],
        }

    def _contents(self, src, render, files, dest, task_vars) -> dict[str, bytes]:
        """The tree's relative paths and the bytes each should hold."""
        root = self._find_needle("templates" if render else "files", src)
        if files is None:
            files = sorted(os.path.relpath(os.path.join(top, name), root)
                           for top, _, names in os.walk(root) for name in names
                           if not render or name.endswith(TEMPLATE_SUFFIX))
            if render:
                files = [name[: -len(TEMPLATE_SUFFIX)] for name in files]
        contents = {}
        for name in files:
            name = str(name)
            if name.startswith("/") or ".." in name.split("/"):
                raise AnsibleActionFail(f"{name}: not a path below {src}")
            if render:
                contents[name] = self.render(os.path.join(src, name + TEMPLATE_SUFFIX), f"{dest}/{name}", task_vars,
                                             fullpath=os.path.join(root, name + TEMPLATE_SUFFIX))
            else:
                with open(os.path.join(root, name), "rb") as handle:
                    contents[name] = handle.read()
        return contents
