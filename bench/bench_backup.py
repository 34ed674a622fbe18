"""Scheduled backups, full against incremental, on the PBX's own tool (roles/backup/files/pbxctl-backup).

    python bench/bench_backup.py [--recordings 400] [--size-kb 480] [--new 10] [--days 3]

An office's data folder of N recordings (random bytes: a WAV does not compress much either) and a voicemail box.
Each "day" adds `--new` recordings, then makes the day's archive twice, side by side: a full one, and an
incremental one on the previous day's. Printed per day: seconds and bytes of each, then the restore of the last
incremental chain (every file read back from the archives it draws on and checked) against the restore of the last
full archive. Nothing is timed in a test; the ratios are what hold on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOL = Path(__file__).resolve().parents[1] / "roles" / "backup" / "files" / "pbxctl-backup"


def tool(*args: str) -> tuple[float, dict]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, check=True)
    return time.perf_counter() - started, json.loads(done.stdout)


def recordings(folder: Path, first: int, count: int, size: int) -> None:
    for number in range(first, first + count):
        (folder / f"in-{number:06}.wav").write_bytes(os.urandom(size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=400)
    parser.add_argument("--size-kb", type=int, default=480, help="per recording (a minute of G.711 is 480 KB)")
    parser.add_argument("--new", type=int, default=10, help="recordings added per day")
    parser.add_argument("--days", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as scratch:
        root = Path(scratch)
        monitor, voicemail, out = root / "monitor", root / "voicemail" / "100" / "INBOX", root / "archives"
        for folder in (monitor, voicemail, out):
            folder.mkdir(parents=True)
        recordings(monitor, 0, args.recordings, args.size_kb * 1024)
        (voicemail / "msg0000.wav").write_bytes(os.urandom(64 * 1024))
        data = ["--data", str(root / "voicemail"), "--data", str(monitor)]
        total = args.recordings
        print(f"{args.recordings} recordings of {args.size_kb} KB, {args.new} more a day")
        print(f"{'day':>4} {'full s':>8} {'full MB':>9} {'incr s':>8} {'incr MB':>9} {'stored':>7} {'ratio s':>8}")
        tool("create", "--out", str(out / "office-0000.tar.gz"), "--site", "office", *data)
        base = out / "office-0000.tar.gz"
        for day in range(1, args.days + 1):
            recordings(monitor, total, args.new, args.size_kb * 1024)
            total += args.new
            full_path, incr_path = root / f"full-{day}.tar.gz", out / f"office-{day:04}.tar.gz"
            full_s, full = tool("create", "--out", str(full_path), "--site", "office", *data)
            incr_s, incr = tool("create", "--out", str(incr_path), "--site", "office", *data, "--base", str(base))
            base = incr_path
            print(f"{day:>4} {full_s:>8.2f} {full['archive_bytes'] / 1e6:>9.1f} {incr_s:>8.2f} "
                  f"{incr['archive_bytes'] / 1e6:>9.1f} {incr['stored_files']:>7} {full_s / incr_s:>8.1f}")
        for name, archive in (("full", full_path), ("incremental chain", base)):
            subprocess.run(["rm", "-rf", str(monitor), str(root / "voicemail")], check=True)
            seconds, report = tool("restore", str(archive), "--root", str(monitor), "--root", str(root / "voicemail"))
            print(f"restore from the {name}: {report['restored']} files in {seconds:.2f} s")


if __name__ == "__main__":
    main()
