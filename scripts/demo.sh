#!/usr/bin/env bash
# Installs what is needed and the package (from a built tarball, so that its vignettes are
# installed too: vignette(package = "ntkgen")), then runs the main job (scripts/demo.R).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh"
work=$(mktemp -d)
( cd "$work" && R CMD build "$root" > build.log 2>&1 ) || { tail -n 40 "$work/build.log"; exit 1; }
tarball=$(ls "$work"/ntkgen_*.tar.gz | head -n 1)
R CMD INSTALL "$tarball" > "$work/install.log" 2>&1 || { tail -n 40 "$work/install.log"; exit 1; }
grep -E '^configure:' "$work/install.log" || true
echo "demo: installed $(basename "$tarball") (with its vignettes)"
Rscript "$root/scripts/demo.R"
