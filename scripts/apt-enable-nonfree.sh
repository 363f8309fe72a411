#!/bin/sh
# Adds the `contrib` and `non-free` components to the machine's own Debian apt sources
# (the CUDA toolkit, nvidia-cuda-toolkit, lives in non-free).  Edits the existing
# entries in place -- the `Components:` line of deb822 stanzas (*.sources) and the
# component list of one-line entries (sources.list, *.list) -- and adds no source of
# its own.  Only entries whose suite is this release's (VERSION_CODENAME of
# /etc/os-release, e.g. bookworm, bookworm-updates, bookworm-security) are touched, so
# third-party sources are left alone.  Idempotent: a component already there is not
# added again; a file that needs no change is not rewritten.
#
#   sh scripts/apt-enable-nonfree.sh                 # the machine's sources (as root)
#   sh scripts/apt-enable-nonfree.sh FILE...         # given files (e.g. a copy, to try it)
# Environment: NTKGEN_APT_CODENAME overrides the release codename.
# Exit status: 0 when at least one matching entry now has contrib and non-free, else 1.

code="${NTKGEN_APT_CODENAME:-}"
if test -z "$code" && test -r /etc/os-release; then
  code=`. /etc/os-release && echo "${VERSION_CODENAME:-}"`
fi

if test $# -eq 0; then
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    if test -f "$f"; then set -- "$@" "$f"; fi
  done
fi

found=1
for f in "$@"; do
  case "$f" in
    *.sources) fmt=deb822 ;;
    *) fmt=oneline ;;
  esac
  tmp="${TMPDIR:-/tmp}/ntkgen-apt.$$"
  awk -v code="$code" -v fmt="$fmt" '
    function suite_ok(s) {
      return s != "" && (code == "" || s == code || index(s, code "-") == 1)
    }
    # the words of `comps` plus contrib / non-free where missing
    function add(line, first,   n, w, k, c, nf) {
      n = split(line, w, /[ \t]+/)
      c = 0; nf = 0
      for (k = first; k <= n; k++) {
        if (w[k] == "contrib") c = 1
        if (w[k] == "non-free") nf = 1
      }
      sub(/[ \t]+$/, "", line)
      if (!c) line = line " contrib"
      if (!nf) line = line " non-free"
      matched++
      return line
    }
    function flush(   i, n, w, k, hit) {
      hit = 0
      for (i = 1; i <= nl; i++) if (tolower(buf[i]) ~ /^suites:/) {
        n = split(substr(buf[i], 8), w, /[ \t]+/)
        for (k = 1; k <= n; k++) if (suite_ok(w[k])) hit = 1
      }
      for (i = 1; i <= nl; i++) {
        if (hit && tolower(buf[i]) ~ /^components:/) buf[i] = add(buf[i], 2)
        print buf[i]
      }
      nl = 0
    }
    fmt == "deb822" {
      if ($0 ~ /^[ \t]*$/) { flush(); print; next }
      buf[++nl] = $0
      next
    }
    # one-line format: deb [options] URI SUITE COMPONENT...
    $1 == "deb" || $1 == "deb-src" {
      i = 2
      if (substr($i, 1, 1) == "[") { while (i < NF && $i !~ /\]$/) i++; i++ }
      if (suite_ok($(i + 1)) && NF >= i + 2) { print add($0, i + 2); next }
    }
    { print }
    END {
      if (fmt == "deb822") flush()
      if (matched) exit 0
      exit 3
    }
  ' "$f" > "$tmp"
  rc=$?
  if test $rc -ne 0 && test $rc -ne 3; then
    echo "apt-enable-nonfree: could not read $f"
    rm -f "$tmp"
    continue
  fi
  if test $rc -eq 0; then found=0; fi
  if cmp -s "$f" "$tmp"; then
    if test $rc -eq 0; then echo "apt-enable-nonfree: $f already has contrib non-free"; fi
  else
    # rewrite in place (keeps the file's owner and mode)
    if cat "$tmp" > "$f"; then
      echo "apt-enable-nonfree: added contrib non-free to $f"
    else
      echo "apt-enable-nonfree: could not write $f"
      found=1
    fi
  fi
  rm -f "$tmp"
done
if test $found -ne 0; then
  echo "apt-enable-nonfree: no Debian source for '${code:-any release}' found to extend"
fi
exit $found
