#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Step 6 : NGINX in front of the gunicorn socket; it serves the static files itself.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

configure() {
  render "${DEPLOY_DIR}/conf_files/nginx_ocpizza" "${NGINX_SITE}"
  ln -sf "${NGINX_SITE}" "${NGINX_ENABLED}/ocpizza"
  rm -f "${NGINX_ENABLED}/default"
  nginx -t
}

activate() {
  systemctl enable --now nginx
  systemctl reload nginx
  if command -v ufw >/dev/null 2>&1; then
    ufw allow 'Nginx Full'
  fi
}

event Nginx-service-file-configuration "read the 'nginx -t' error in the .out file" configure
event Nginx-service-activation "read 'journalctl -u nginx'" activate
