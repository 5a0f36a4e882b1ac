#!/usr/bin/env bash
# Install what tests/test_ui_browser.py needs, idempotently: Debian's chromium (system browser; Playwright
# never downloads one) and the pinned Playwright Python package into the project venv.
#   scripts/install_browser.sh            # uses .venv/bin/python
#   VENV=/path/to/venv scripts/install_browser.sh
set -euo pipefail
PLAYWRIGHT_VERSION="${PLAYWRIGHT_VERSION:-1.65.2}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium
fi
/usr/bin/chromium --version

[ -x "$PY" ] || { echo "no python at $PY (run make install first)" >&2; exit 1; }
have="$("$PY" -c 'import importlib.metadata as m; print(m.version("playwright"))' 2>/dev/null || true)"
if [ "$have" != "$PLAYWRIGHT_VERSION" ]; then
  "$PY" -m pip install -q --disable-pip-version-check "playwright==$PLAYWRIGHT_VERSION"
fi
"$PY" -c 'import playwright, importlib.metadata as m; print("playwright", m.version("playwright"))'
