#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Step 3 : VIRTUAL ENVIRONMENT, owned by the application user. (The manual's
# 'sudo ubuntu_user' is not a command, and 'source activate' inside a script
# does not outlive the script: every later step calls the venv's binaries.)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The requirements need the Python of pyproject.toml's requires-python: Ubuntu
# 24.04 has 3.12; 22.04's 3.10 fails later, in the middle of 'pip install'.
python_version() {
  local needed found
  needed="$(sed -n 's/^requires-python = ">=\([0-9.]*\)"$/\1/p' "${DEPLOY_DIR}/../pyproject.toml")"
  found="$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  echo "python3 ${found}, requirements need ${needed} or newer"
  [[ -n ${needed} && "$(printf '%s\n%s\n' "${needed}" "${found}" | sort -V | head -n 1)" == "${needed}" ]]
}

event Python-version-check "python3 is too old for the requirements: use Ubuntu 24.04 (Python 3.12)" python_version
event Virtual-environment-installation "install python3-venv (step 1)" \
  runuser -u "${OCPIZZA_USER}" -- python3 -m venv "${OCPIZZA_VENV}"
event Virtual-environment-activation "remove ${OCPIZZA_VENV} and run the engine again" \
  runuser -u "${OCPIZZA_USER}" -- "${OCPIZZA_VENV}/bin/python" -m pip install --quiet --upgrade pip
