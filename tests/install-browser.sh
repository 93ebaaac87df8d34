#!/bin/sh
# Installs the headless browser the evaluation report test opens (Debian/Ubuntu: the chromium package).
# Does nothing when a chromium is already on PATH.
set -e
for b in chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$b" >/dev/null 2>&1; then exit 0; fi
done
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
