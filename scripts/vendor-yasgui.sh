#!/usr/bin/env bash
# Vendor YASGUI (the SPARQL query editor of the /query page) from the npm registry, so that
# the page loads nothing from a CDN at run time. Re-run to update; commit the result.
set -euo pipefail
VERSION="${1:-4.6.2}"
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@zazuko/yasgui@${VERSION}" >/dev/null && tar xzf zazuko-yasgui-*.tgz)
mkdir -p cqp_graph/present/static/yasgui
cp "$tmp/package/build/yasgui.min.js" "$tmp/package/build/yasgui.min.css" cqp_graph/present/static/yasgui/
cat > cqp_graph/present/static/yasgui/NOTICE <<NOTICE
@zazuko/yasgui ${VERSION} (MIT licence), https://github.com/zazuko/Yasgui
Taken from the npm registry package @zazuko/yasgui@${VERSION} (build/yasgui.min.js, build/yasgui.min.css)
by scripts/vendor-yasgui.sh.
sha256 yasgui.min.js  $(sha256sum cqp_graph/present/static/yasgui/yasgui.min.js | cut -d' ' -f1)
sha256 yasgui.min.css $(sha256sum cqp_graph/present/static/yasgui/yasgui.min.css | cut -d' ' -f1)
NOTICE
echo "vendored @zazuko/yasgui ${VERSION}"
