#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# OC Pizza categorical update (manual chapter 6.1), run as root on the server:
#   sudo deploy/update/update-engine.sh [BUNDLE_DIR]
# BUNDLE_DIR holds the delivered files and their controller.ini (default: this folder).
# Customers get the maintenance page instead of a dead site (the manual stopped
# nginx); migrations come with the bundle, the server never writes them.
set -euo pipefail
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

BUNDLE_DIR="$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")}" && pwd)"
: "${UPDATE_LOG:=${PWD}/update_logs}"
DEPLOY_LOG=${UPDATE_LOG}

manage() {
  as_app "${OCPIZZA_VENV}/bin/python" "${OCPIZZA_APP}/manage.py" "$@"
}

# Whatever happens, the site does not stay in maintenance silently.
in_maintenance=0
finish() {
  local status=$?
  if [[ ${status} -ne 0 && ${in_maintenance} == 1 ]]; then
    echo "Update failed: the site is still in maintenance. Fix, or roll back with:" >&2
    echo "  manage.py update_lhc --rollback && systemctl reload gunicorn && manage.py maintenance off" >&2
  fi
}
trap finish EXIT

: >"${DEPLOY_LOG}"
echo "# Update : ${BUNDLE_DIR}" >>"${DEPLOY_LOG}"
event Update-preview "check ${BUNDLE_DIR}/controller.ini" \
  manage update_lhc --dry-run --controller "${BUNDLE_DIR}/controller.ini"
event Maintenance-on "check the database connection" manage maintenance on
in_maintenance=1
event Components-update "read the update_lhc error" manage update_lhc --controller "${BUNDLE_DIR}/controller.ini"
event Static-collection "check STATIC_ROOT" manage collectstatic --noinput
event Database-upgrading "read the migrate error; roll back with update_lhc --rollback" manage migrate --noinput
event Gunicorn-reload "read 'journalctl -u gunicorn'" systemctl reload gunicorn
# The task worker finishes its task in hand, then runs the new code.
event Worker-restart "read 'journalctl -u ocpizza-worker'" systemctl restart ocpizza-worker
event Deployment-verification "run manage.py verify_deployment" manage verify_deployment --skip maintenance
event Maintenance-off "run manage.py maintenance off" manage maintenance off
in_maintenance=0
echo "Update done: ${DEPLOY_LOG}"
