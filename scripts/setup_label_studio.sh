#!/usr/bin/env bash
# Create .venv-ls with the Label Studio SERVER (label-studio 1.23.2) in its own venv.
# Why separate: the server pins many packages that would fight the main venv's versions.
# Idempotent: does nothing when the right version is already installed.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CQIA_LS_VENV:-$REPO/.venv-ls}"
VERSION="${CQIA_LS_VERSION:-1.23.2}"
PYTHON="${PYTHON:-python3}"

if [ -x "$VENV/bin/label-studio" ] && \
   "$VENV/bin/python" -c "import importlib.metadata as m,sys; sys.exit(m.version('label-studio')!='$VERSION')" 2>/dev/null; then
  echo "label-studio $VERSION already installed in $VENV"
  exit 0
fi

echo "creating $VENV with label-studio==$VERSION (about 1 GB, ~1 minute)"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check uv
"$VENV/bin/uv" pip install --quiet --compile-bytecode --python "$VENV/bin/python" "label-studio==$VERSION"
test -x "$VENV/bin/label-studio"
echo "ok: $VENV/bin/label-studio (set CQIA_LABEL_STUDIO_BIN to use another binary)"
