#!/usr/bin/env bash
# Install the services the test suite talks to, from Debian's packages, when they are
# missing and we may (Debian, root). Elsewhere say what is missing and how to get it;
# the tests that need them then skip with that message, or fail when CI=true.
set -euo pipefail

declare -A need=([clickhouse-server]=clickhouse-server [chromium]=chromium [chromedriver]=chromium-driver [ogrinfo]=gdal-bin)
missing=()
for cmd in "${!need[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
# ZooKeeper (the ClickHouse cluster tests) puts no command on the PATH: look for its jar.
[ -f /usr/share/java/zookeeper.jar ] || missing+=(zookeeper)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ -f /etc/debian_version ] && [ "$(id -u)" -eq 0 ]; then
    echo "installing from Debian's packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    timeout 900 apt-get update -qq
    timeout 1800 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "missing for the tests: ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
fi
