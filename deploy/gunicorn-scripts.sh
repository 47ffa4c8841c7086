#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Step 5 : GUNICORN as a systemd service started by its socket. (The manual
# started gunicorn in the foreground, which blocks the script, and its service
# required a gunicorn.socket that was never written: both files are in conf_files/.)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

configure() {
  render "${DEPLOY_DIR}/conf_files/gunicorn.socket" "${SYSTEMD_DIR}/gunicorn.socket"
  render "${DEPLOY_DIR}/conf_files/gunicorn.service" "${SYSTEMD_DIR}/gunicorn.service"
  render "${DEPLOY_DIR}/conf_files/ocpizza-worker.service" "${SYSTEMD_DIR}/ocpizza-worker.service"
  render "${DEPLOY_DIR}/conf_files/ocpizza-streams.service" "${SYSTEMD_DIR}/ocpizza-streams.service"
}

activate() {
  systemctl daemon-reload
  systemctl enable --now gunicorn.socket
  systemctl restart gunicorn.service
  systemctl is-active --quiet gunicorn.service
  # The task worker runs beside gunicorn, from the same code and env file.
  systemctl enable ocpizza-worker.service
  systemctl restart ocpizza-worker.service
  systemctl is-active --quiet ocpizza-worker.service
  # The stream server (live screens) too; nginx sends it /flux/.
  systemctl enable ocpizza-streams.service
  systemctl restart ocpizza-streams.service
  systemctl is-active --quiet ocpizza-streams.service
}

event Gunicorn-service-file-configuration "check the rendered files in ${SYSTEMD_DIR}" configure
event Gunicorn-service-activation "read 'journalctl -u gunicorn' (and -u ocpizza-worker, -u ocpizza-streams)" activate
