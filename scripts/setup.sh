#!/usr/bin/env bash
# Installs what ntkgen needs on a fresh Debian (bookworm) machine with R 4.2, as root:
# OpenBLAS (so R's BLAS/LAPACK is fast), pandoc + knitr + rmarkdown (vignettes), the
# suggested R packages, devscripts (checkbashisms) and qpdf for R CMD check --as-cran.
# Idempotent: installs only what is missing.
set -euo pipefail

apt_pkgs=(libopenblas0-pthread pandoc r-cran-knitr r-cran-rmarkdown r-cran-future
          r-cran-future.apply r-cran-progressr r-cran-cli devscripts qpdf
          plink1.9)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# testthat (present on these machines; installed if missing) and suggested packages that
# Debian does not ship, from the repositories R is configured with (the `repos` option,
# set on the machine; rrBLUP is pure R; BGLR holds the wheat data of the real-data
# vignette).  Not --vanilla: the site profile (Rprofile.site) is where `repos` is set.
Rscript --no-init-file -e '
  repos <- getOption("repos")
  want <- c("testthat", "rrBLUP", "BGLR", "genio", "BEDMatrix")
  have <- rownames(installed.packages())
  need <- setdiff(want, have)
  if (length(need) && (!length(repos) || all(repos %in% c("", "@CRAN@")))) {
    message("setup: no package repository set (options(repos)): not installing ",
            paste(need, collapse = ", "))
  } else if (length(need)) {
    message("setup: installing from ", paste(repos, collapse = ", "), ": ",
            paste(need, collapse = ", "))
    install.packages(need, quiet = TRUE, Ncpus = 2L)
  }
  miss <- setdiff(want, rownames(installed.packages()))
  if (length(miss)) message("setup: could not install ", paste(miss, collapse = ", "),
                            " (tests and vignettes that need them are skipped)")
'
echo "setup: R BLAS is $(Rscript -e 'cat(sessionInfo()$BLAS)')"
