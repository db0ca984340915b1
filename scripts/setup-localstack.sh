#!/usr/bin/env bash
# Idempotently install LocalStack (community edition, run on the host without Docker) into its own
# virtualenv, for `ecs-sim --backend localstack` and tests/integration/test_localstack.py.
# Prints the virtualenv's python; start LocalStack with:
#   GATEWAY_LISTEN=127.0.0.1:4566 "$(scripts/setup-localstack.sh)" -m localstack.runtime.main
#
# Why these versions: 4.14 is the release checked to run ecs-sim's sample tasks. Its services use
# Python 3.12 syntax (PEP 695) and its S3, KMS, SQS, SNS, EventBridge (so SSM) and DynamoDB providers
# import warnings.deprecated, new in Python 3.13: it needs Python >= 3.13 (a pyenv one here: Debian 12
# has 3.11; under 3.12 only IAM, Secrets Manager and Logs start). Its runtime imports cbor2._decoder (gone in cbor2 5.8) and calls X509.add_extensions (gone in
# pyOpenSSL 24.3, which needs cryptography < 44 and a matching service_identity).
set -euo pipefail

log() { printf 'setup-localstack: %s\n' "$*" >&2; }

VENV=${ECS_SIM_LOCALSTACK_VENV:-/var/lib/ecs-sim/localstack}
REQUIREMENTS=("localstack-core[runtime]==4.14.0" "cbor2<5.8" "cryptography<44" "pyopenssl<24.3" "service_identity<24.2")
STAMP="python>=3.13 ${REQUIREMENTS[*]}"

if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.ecs-sim-requirements" 2>/dev/null)" = "$STAMP" ]; then
  echo "$VENV/bin/python"
  exit 0
fi

python=""
for candidate in python3.13 python3.14 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[3-9]*/bin/python3; do
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if "$path" -c 'import sys, venv; assert sys.version_info >= (3, 13)' 2>/dev/null; then
    python=$path
    break
  fi
done
[ -n "$python" ] || { log "LocalStack needs Python >= 3.13 and none was found (try pyenv)"; exit 1; }

log "installing ${REQUIREMENTS[*]} into $VENV with $python (a few minutes)"
rm -rf "$VENV"
"$python" -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check "${REQUIREMENTS[@]}" 2>&1 | grep -v '^WARNING: Location' >&2 || true
"$VENV/bin/python" -c 'import localstack.runtime.main' || { log "the install is broken"; exit 1; }
echo "$STAMP" >"$VENV/.ecs-sim-requirements"
echo "$VENV/bin/python"
