#!/usr/bin/env bash
# Regenerate README.md from nbs/index.ipynb (nbdev_readme needs Quarto; tools/sync_readme.py needs only Python).
set -euo pipefail
cd "$(dirname "$0")/.."
python tools/sync_readme.py
