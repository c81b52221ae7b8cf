#!/usr/bin/env bash
# packaging/build-deb.sh OUTDIR - build the Debian package of this checkout.
#
# Copies the checkout's files (git's view: tracked and new files, nothing
# ignored, so no build directories or node_modules) to OUTDIR/src/, puts
# packaging/debian there as debian/, runs dpkg-buildpackage (binary only,
# unsigned) and lintian, which must report no errors.  The package ends up
# in OUTDIR/ (mimir-agent_VERSION_ARCH.deb).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:?usage: build-deb.sh OUTDIR}
for tool in dpkg-buildpackage dh; do
    command -v "$tool" >/dev/null ||
        { echo "build-deb: $tool is missing: apt-get install dpkg-dev debhelper" >&2; exit 1; }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/src
rm -rf "$src" "$out"/*.deb "$out"/*.ddeb "$out"/*.changes "$out"/*.buildinfo
mkdir -p "$src"

cd "$top"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Files deleted from the work tree but not yet from the index are skipped.
    git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
        tar --null -T - -cf - | tar -xf - -C "$src"
else
    tar --exclude='./build' --exclude='./build-*' --exclude='node_modules' -cf - . |
        tar -xf - -C "$src"
fi
rm -rf "$src/debian"
cp -a packaging/debian "$src/debian"

cd "$src"
echo "build-deb: dpkg-buildpackage in $src (log: $out/build.log)"
if ! DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}" dpkg-buildpackage -b -us -uc \
        >"$out/build.log" 2>&1; then
    tail -n 40 "$out/build.log" >&2
    echo "build-deb: dpkg-buildpackage failed (whole log: $out/build.log)" >&2
    exit 1
fi
changes=$(ls "$out"/*.changes)
if command -v lintian >/dev/null; then
    echo "build-deb: lintian $(basename "$changes")"
    lintian --fail-on error "$changes" \
        | tee "$out/lintian.log" || { echo "build-deb: lintian reports errors" >&2; exit 1; }
else
    echo "build-deb: lintian is not installed: not checked (apt-get install lintian)" >&2
fi
ls "$out"/*.deb
