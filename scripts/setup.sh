#!/usr/bin/env bash
# Install what pbxctl and its lab need on a Debian host (run as root), into ./.venv.
set -euo pipefail
cd "$(dirname "$0")/.."

host_packages=(python3 python3-venv python3-dev gcc git openssh-client debootstrap systemd-container tinyproxy zstd
               baresip sipsak tftp-hpa curl iproute2 nftables)
missing=()
for package in "${host_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

python=$(command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e '.[test]'
echo "pbxctl installed: $(.venv/bin/pbxctl --help >/dev/null && echo .venv/bin/pbxctl)"
