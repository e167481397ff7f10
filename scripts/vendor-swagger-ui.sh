#!/usr/bin/env bash
# Vendor Swagger UI (the /docs page, which reads the OpenAPI 3.1 document FastAPI writes) from the npm
# registry package swagger-ui-dist, so that the page loads nothing from a CDN at run time.
# Swagger UI 5 is the first to read OpenAPI 3.1. Re-run to update; commit the result.
set -euo pipefail
VERSION="${1:-5.35.0}"
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "swagger-ui-dist@${VERSION}" >/dev/null && tar xzf swagger-ui-dist-*.tgz)
target=cqp_graph/present/static/swagger-ui
mkdir -p "$target"
for file in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css favicon-32x32.png LICENSE; do
  cp "$tmp/package/$file" "$target/"
done
{
  echo "swagger-ui-dist ${VERSION} (Apache License 2.0, see LICENSE), https://github.com/swagger-api/swagger-ui"
  echo "Taken from the npm registry package swagger-ui-dist@${VERSION} by scripts/vendor-swagger-ui.sh:"
  echo "swagger-ui-bundle.js (its third-party notices: swagger-ui-bundle.js.LICENSE.txt), swagger-ui.css,"
  echo "favicon-32x32.png, LICENSE. The package's own NOTICE reads:"
  echo
  sed 's/^/    /' "$tmp/package/NOTICE"
  echo
  for file in swagger-ui-bundle.js swagger-ui.css favicon-32x32.png; do
    echo "sha256 $file  $(sha256sum "$target/$file" | cut -d' ' -f1)"
  done
} > "$target/NOTICE"
echo "vendored swagger-ui-dist ${VERSION}"
