#!/usr/bin/env bash
# Create .venv-dj with data-juicer (py-data-juicer 1.6.1) for the benchmarks ONLY.
# Why separate: data-juicer pins many packages (and pulls torch-free but heavy deps) that would
# fight the main venv; the toolkit never imports it. Idempotent: no-op when already installed.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CQIA_DJ_VENV:-$REPO/.venv-dj}"
VERSION="${CQIA_DJ_VERSION:-1.6.1}"
PYTHON="${PYTHON:-python3}"

if [ -x "$VENV/bin/python" ] && \
   "$VENV/bin/python" -c "import importlib.metadata as m,sys,ftfy,selectolax; sys.exit(m.version('py-data-juicer')!='$VERSION')" 2>/dev/null; then
  echo "py-data-juicer $VERSION already installed in $VENV"
  exit 0
fi

echo "creating $VENV with py-data-juicer==$VERSION (~30 s)"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
UV="$REPO/.venv/bin/uv"
if [ ! -x "$UV" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check uv
  UV="$VENV/bin/uv"
fi
# aiohttp: imported by data-juicer at start-up but not declared by the wheel.
# ftfy/selectolax: needed by fix_unicode_mapper/clean_html_mapper (else data-juicer pip-installs
# them at run time). psutil/orjson: used by the benchmark's worker script inside this venv.
"$UV" pip install --quiet --python "$VENV/bin/python" "py-data-juicer==$VERSION" aiohttp psutil orjson \
  ftfy selectolax
"$VENV/bin/python" -c "import data_juicer; print('ok: data_juicer', data_juicer.__version__)"
