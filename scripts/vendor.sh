#!/usr/bin/env bash
# Copies the site's third-party browser files from node_modules/ into www/assets/vendor/
# (gitignored; trunk copies assets/ into dist/), so the page loads them from its own host, never
# from a CDN. Installs the npm dev dependencies first when the pinned version is missing.
#   uplot/: uPlot (MIT), the training panel's live loss and accuracy charts.
#   dagre/: @dagrejs/dagre (MIT), the layered layout of the Build view's layer graph (its ES
#           module bundles @dagrejs/graphlib).
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(node -p "require('./package.json').devDependencies.uplot")
have=$(node -p "try { require('./node_modules/uplot/package.json').version } catch { '' }")
want_dagre=$(node -p "require('./package.json').devDependencies['@dagrejs/dagre']")
have_dagre=$(node -p "try { require('./node_modules/@dagrejs/dagre/package.json').version } catch { '' }")
if [ "$have" != "$want" ] || [ "$have_dagre" != "$want_dagre" ]; then
  npm ci --no-audit --no-fund
fi
dest=www/assets/vendor/uplot
mkdir -p "$dest"
for f in dist/uPlot.esm.js dist/uPlot.min.css LICENSE; do
  cmp -s "node_modules/uplot/$f" "$dest/$(basename "$f")" || cp "node_modules/uplot/$f" "$dest/"
done
echo "vendor: uplot $want"
dest=www/assets/vendor/dagre
mkdir -p "$dest"
for f in dist/dagre.esm.js LICENSE; do
  cmp -s "node_modules/@dagrejs/dagre/$f" "$dest/$(basename "$f")" || cp "node_modules/@dagrejs/dagre/$f" "$dest/"
done
echo "vendor: @dagrejs/dagre $want_dagre"
