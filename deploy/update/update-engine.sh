#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# OC Pizza categorical update (manual chapter 6.1), run as root on the server:
#   sudo deploy/update/update-engine.sh BUNDLE_DIR
#   sudo deploy/update/update-engine.sh --rollback    # undo the latest update, static files included
# BUNDLE_DIR holds the delivered files and their controller.ini; the application
# user reads it, so it lives under OCPIZZA_HOME (e.g. /srv/ocpizza/livraisons/2.6),
# never in /root. Customers get the maintenance page instead of a dead site (the
# manual stopped nginx); migrations come with the bundle, the server never writes them.
set -euo pipefail
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ROLLBACK=0
if [[ ${1:-} == --rollback ]]; then
  ROLLBACK=1
elif [[ -z ${1:-} ]]; then
  echo "usage: $0 BUNDLE_DIR | --rollback" >&2
  exit 2
else
  BUNDLE_DIR="$(cd "$1" && pwd)"
fi
: "${UPDATE_LOG:=${PWD}/update_logs}"
DEPLOY_LOG=${UPDATE_LOG}
SELF="${DEPLOY_DIR}/update/update-engine.sh"

manage() {
  as_app "${OCPIZZA_VENV}/bin/python" "${OCPIZZA_APP}/manage.py" "$@"
}

# The application user copies the files: every one of them must be readable by it.
bundle_access() {
  runuser -u "${OCPIZZA_USER}" -- find "${BUNDLE_DIR}" -type f -exec cat {} + >/dev/null
}

# Whatever happens, the site does not stay in maintenance silently.
in_maintenance=0
finish() {
  local status=$?
  if [[ ${status} -ne 0 && ${in_maintenance} == 1 ]]; then
    echo "Update failed: the site is still in maintenance. Fix, or roll back (files, static files, reload) with:" >&2
    echo "  ${SELF} --rollback" >&2
  fi
}
trap finish EXIT

: >"${DEPLOY_LOG}"
if [[ ${ROLLBACK} == 1 ]]; then
  echo "# Rollback of the latest update" >>"${DEPLOY_LOG}"
  event Maintenance-on "check the database connection" manage maintenance on
  in_maintenance=1
  event Components-rollback "read the update_lhc error" manage update_lhc --rollback
else
  echo "# Update : ${BUNDLE_DIR}" >>"${DEPLOY_LOG}"
  event Bundle-access "${OCPIZZA_USER} cannot read ${BUNDLE_DIR}: place the bundle under ${OCPIZZA_HOME}/livraisons/ (group ${OCPIZZA_USER}, g+rX), not in /root" \
    bundle_access
  event Update-preview "check ${BUNDLE_DIR}/controller.ini" \
    manage update_lhc --dry-run --controller "${BUNDLE_DIR}/controller.ini"
  event Maintenance-on "check the database connection" manage maintenance on
  in_maintenance=1
  event Components-update "read the update_lhc error" manage update_lhc --controller "${BUNDLE_DIR}/controller.ini"
  # A model changed without its migration would go live and fail on its first query.
  event Migrations-check "the bundle changes models without their migration: deliver the migration file, or roll back" \
    manage makemigrations --check --dry-run
fi
event Static-collection "check STATIC_ROOT" manage collectstatic --noinput
if [[ ${ROLLBACK} == 0 ]]; then
  event Database-upgrading "read the migrate error; roll back with ${SELF} --rollback" manage migrate --noinput
fi
event Gunicorn-reload "read 'journalctl -u ${GUNICORN_SERVICE}'" systemctl reload "${GUNICORN_SERVICE}"
# The task worker finishes its task in hand, then runs the new code (under supervisord, the reload above restarts it).
if [[ -n ${WORKER_SERVICE} ]]; then
  event Worker-restart "read 'journalctl -u ${WORKER_SERVICE}'" systemctl restart "${WORKER_SERVICE}"
fi
# The stream server's streams end; the browsers open them again on the new code (polling meanwhile).
if [[ -n ${STREAMS_SERVICE} ]]; then
  event Streams-restart "read 'journalctl -u ${STREAMS_SERVICE}'" systemctl restart "${STREAMS_SERVICE}"
fi
event Deployment-verification "run manage.py verify_deployment" manage verify_deployment --skip maintenance
event Maintenance-off "run manage.py maintenance off" manage maintenance off
in_maintenance=0
echo "Done: ${DEPLOY_LOG}"
