#!/usr/bin/env bash
# Debian packages the local services need. Installs only what is missing; quiet when nothing is.
set -euo pipefail
need=()
command -v pg_createcluster >/dev/null && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
command -v redis-server >/dev/null || need+=(redis-server)
command -v mvn >/dev/null || need+=(maven)
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
# The browser test of the MedKB page (tests/plugins/test_medkb_page.py): headless Chromium and the
# chromedriver Selenium drives it through, both from Debian (the same major version).
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
command -v python3.11 >/dev/null || { echo "ERROR [install]: Python 3.11 is required (python3.11 not on PATH)" >&2; exit 1; }
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "ERROR [install]: missing Debian packages ${need[*]}; run as root or: sudo apt-get install ${need[*]}" >&2; exit 1
  fi
  echo "install: apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
