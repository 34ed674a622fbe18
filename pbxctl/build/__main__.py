"""`python -m pbxctl.build VERSION SUITE`: the role's way to get a built Asterisk (it runs this on the control
node when a PBX needs one); prints the directory of the .deb as JSON, building it first when not cached.
`--gsm DRIVER=PATH[=SHA256]` (repeatable): a GSM channel driver built with it from that source tree."""

import argparse
import json
import re
import sys

from pbxctl.build import asterisk


def _gsm_spec(spec: str) -> tuple[str, str, str | None]:
    """DRIVER=PATH[=SHA256] into its parts (the path may hold '=' itself)."""
    driver, _, rest = spec.partition("=")
    path, _, digest = rest.rpartition("=")
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        return driver, rest, None
    return driver, path, digest


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m pbxctl.build")
    parser.add_argument("version")
    parser.add_argument("suite")
    parser.add_argument("--gsm", action="append", default=[], metavar="DRIVER=PATH[=SHA256]")
    args = parser.parse_args()
    try:
        gsm = tuple(asterisk.gsm_source(*_gsm_spec(spec)) for spec in args.gsm)
        out = asterisk.ensure_built(asterisk.release(args.version, gsm=gsm), args.suite,
                                    log=lambda m: print(m, file=sys.stderr))
    except Exception as error:  # noqa: BLE001 - the role shows the message, not a trace
        print(json.dumps({"error": str(error)}))
        return 1
    print(json.dumps({"dir": str(out), **json.loads((out / "manifest.json").read_text())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
