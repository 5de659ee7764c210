#!/usr/bin/env bash
# What the browser tests need from Debian: Chromium (Playwright drives the system browser; it downloads none of
# its own) and a Chinese font, so pages and screenshots show characters, not boxes. Installed only when missing.
set -euo pipefail

need=()
for package in chromium fonts-wqy-microhei; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || need+=("$package")
done
[ ${#need[@]} -eq 0 ] && exit 0

echo "installing ${need[*]} from Debian for the browser tests"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -q --no-install-recommends "${need[@]}" \
  || { $sudo apt-get update -q && $sudo apt-get install -y -q --no-install-recommends "${need[@]}"; }
