#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Step 3 : VIRTUAL ENVIRONMENT, owned by the application user. (The manual's
# 'sudo ubuntu_user' is not a command, and 'source activate' inside a script
# does not outlive the script: every later step calls the venv's binaries.)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

event Virtual-environment-installation "install python3-venv (step 1)" \
  runuser -u "${OCPIZZA_USER}" -- python3 -m venv "${OCPIZZA_VENV}"
event Virtual-environment-activation "remove ${OCPIZZA_VENV} and run the engine again" \
  runuser -u "${OCPIZZA_USER}" -- "${OCPIZZA_VENV}/bin/python" -m pip install --quiet --upgrade pip
