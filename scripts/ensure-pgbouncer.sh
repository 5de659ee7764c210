#!/usr/bin/env bash
# Debian's PgBouncer, for the test that runs an order's whole life through transaction pooling (the suite starts
# its own PgBouncer on a free port; the package's own service is left stopped). Installed only when missing.
set -euo pipefail

if command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; then exit 0; fi

echo "installing pgbouncer from Debian for the connection-pooling test"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
# No service of its own is wanted: a policy-rc.d (unless the machine has one) refuses to start it on install.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  $sudo sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
  trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
$sudo apt-get install -y -q --no-install-recommends pgbouncer \
  || { $sudo apt-get update -q && $sudo apt-get install -y -q --no-install-recommends pgbouncer; }
