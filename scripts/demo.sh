#!/usr/bin/env bash
# Installs what is needed and the package, then runs the main job (scripts/demo.R) on
# data the package simulates.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh"
R CMD INSTALL --no-test-load "$root" > /tmp/ntkgen-install.log 2>&1 || { tail -n 40 /tmp/ntkgen-install.log; exit 1; }
grep -E '^configure:' /tmp/ntkgen-install.log || true
Rscript "$root/scripts/demo.R"
