#!/usr/bin/env bash
# Installs headless Chromium, chromedriver (Debian) and Selenium (PyPI) when missing, then runs the console browser test.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
python3 -c 'import selenium' 2>/dev/null || pip install -q selenium
[ -x .build/debug/winmdm ] || swift build --product winmdm
python3 Tests/Browser/console_test.py
