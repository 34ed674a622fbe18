"""`python -m pbxctl.build VERSION SUITE`: the role's way to get a built Asterisk (it runs this on the control
node when a PBX needs one); prints the directory of the .deb as JSON, building it first when not cached."""

import argparse
import json
import sys

from pbxctl.build import asterisk


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m pbxctl.build")
    parser.add_argument("version")
    parser.add_argument("suite")
    args = parser.parse_args()
    try:
        out = asterisk.ensure_built(asterisk.release(args.version), args.suite, log=lambda m: print(m, file=sys.stderr))
    except Exception as error:  # noqa: BLE001 - the role shows the message, not a trace
        print(json.dumps({"error": str(error)}))
        return 1
    print(json.dumps({"dir": str(out), **json.loads((out / "manifest.json").read_text())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
