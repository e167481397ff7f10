#!/usr/bin/env bash
# Vendor axe-core (the accessibility checker that tests/test_accessibility.py injects into each page) from the
# npm registry, for the tests only: the site never serves it. Re-run to update; commit the result.
set -euo pipefail
VERSION="${1:-4.14.1}"
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "axe-core@${VERSION}" >/dev/null && tar xzf axe-core-*.tgz)
mkdir -p tests/vendor/axe-core
cp "$tmp/package/axe.min.js" "$tmp/package/LICENSE" tests/vendor/axe-core/
cat > tests/vendor/axe-core/NOTICE <<NOTICE
axe-core ${VERSION} (Mozilla Public License 2.0, see LICENSE), https://github.com/dequelabs/axe-core
Taken from the npm registry package axe-core@${VERSION} (axe.min.js, LICENSE) by scripts/vendor-axe.sh.
Used by the tests only (tests/test_accessibility.py injects it into the served pages); the site does not serve it.
sha256 axe.min.js $(sha256sum tests/vendor/axe-core/axe.min.js | cut -d' ' -f1)
NOTICE
echo "vendored axe-core ${VERSION}"
