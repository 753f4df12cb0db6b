#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image.
# It installs Node.js 20 (unless a new enough one is there) and the
# workbook's packages, in /autograder/source where Gradescope unpacked the
# autograder (a pristine copy of the workbook, see INSTRUCTORS.md).
set -euo pipefail
cd "$(dirname "$0")"

# New enough: what package.json's engines say (20.19+, 22.13+, or 24 and later).
new_enough=no
if command -v node >/dev/null 2>&1; then
  new_enough=$(node -p 'const [a, b] = process.versions.node.split(".").map(Number); a >= 24 || (a === 22 && b >= 13) || (a === 20 && b >= 19) ? "yes" : "no"')
fi
if [ "$new_enough" != yes ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq ca-certificates curl gnupg
  curl -fsSL https://deb.nodesource.com/setup_20.x | bash -
  apt-get install -y -qq nodejs
fi

# Grading needs no browser: Puppeteer (pulled in by the diagram renderer)
# must not download one.
export PUPPETEER_SKIP_DOWNLOAD=1
npm ci --no-audit --no-fund
