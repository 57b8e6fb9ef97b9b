#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the project needs, only those that are missing.
# Usage: tools/system-packages.sh PACKAGE...
set -euo pipefail

missing=()
for package in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: missing system packages: ${missing[*]}" >&2
  echo "This set-up knows Debian and Ubuntu (apt-get); install their equivalents by hand." >&2
  exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "error: missing system packages: ${missing[*]}" >&2
  echo "Installing them needs root. Run: sudo apt-get install -y ${missing[*]}" >&2
  echo "then run make again." >&2
  exit 1
fi

echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
