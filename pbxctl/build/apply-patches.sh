#!/bin/sh
# Applies pbxctl's fixes to a GSM driver's source tree before it is built: apply-patches.sh SOURCE_DIR PATCH_DIR.
# Each PATCH_DIR/*.patch (in name order, -p1, upstream-style with a description of why) is applied once; one the
# source already has (a newer upstream release with the fix) is left out; one that fits neither way stops the build,
# since the driver would be built without a fix it needs.
set -eu
top=$1
dir=$2
for patch in "$dir"/*.patch; do
  [ -f "$patch" ] || continue
  name=$(basename "$patch")
  if patch -d "$top" -p1 -R -s -f --dry-run < "$patch" >/dev/null 2>&1; then
    echo "$name: already in the source"
  elif patch -d "$top" -p1 -N -s -f --dry-run < "$patch" >/dev/null 2>&1; then
    patch -d "$top" -p1 -N -s -f --no-backup-if-mismatch < "$patch"
    echo "$name: applied"
  else
    echo "$name does not apply to the source in $top:" >&2
    patch -d "$top" -p1 -N -f --dry-run < "$patch" >&2 || true
    exit 1
  fi
done
