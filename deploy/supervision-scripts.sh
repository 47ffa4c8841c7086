#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Replaces step 5 (gunicorn under systemd) by gunicorn under supervisord
# (manual chapter 7), started at boot by ocpizza-supervisor.service, and points
# nginx at supervisord's gunicorn socket. Run as root after the deploy engine:
#   sudo deploy/supervision-scripts.sh
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

configure() {
  install -d -o "${OCPIZZA_USER}" -g www-data -m 750 "${OCPIZZA_HOME}/supervision"
  render "${DEPLOY_DIR}/conf_files/ocpizza-supervisor.service" "${SYSTEMD_DIR}/ocpizza-supervisor.service"
}

activate() {
  systemctl daemon-reload
  systemctl disable --now gunicorn.socket gunicorn.service ocpizza-streams.service
  systemctl enable --now ocpizza-supervisor.service
  systemctl is-active --quiet ocpizza-supervisor.service
}

# nginx's upstream follows gunicorn to supervisord's socket.
nginx_upstream() {
  GUNICORN_SOCKET="${OCPIZZA_HOME}/supervision/gunicorn.sock" render "${DEPLOY_DIR}/conf_files/nginx_ocpizza" "${NGINX_SITE}"
  nginx -t
  systemctl reload nginx
}

event Supervisor-service-file-configuration "check the rendered file in ${SYSTEMD_DIR}" configure
event Supervisor-service-activation "read 'journalctl -u ocpizza-supervisor' and the watchdog.log" activate
event Nginx-upstream-switch "read the 'nginx -t' error in the .out file" nginx_upstream
