#!/usr/bin/env bash
# Regenerate README.md from nbs/index.ipynb (nbdev_readme needs Quarto; this needs only nbconvert).
set -euo pipefail
cd "$(dirname "$0")/.."
jupyter nbconvert --to markdown --log-level ERROR --stdout nbs/index.ipynb > README.md
