#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Step 1 : UBUNTU. A system user for the application (no password, no sudo:
# the manual gave it sudo rights) and the packages the site needs.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

create_user() {
  id -u "${OCPIZZA_USER}" >/dev/null 2>&1 ||
    adduser --system --group --home "${OCPIZZA_HOME}" --shell /usr/sbin/nologin "${OCPIZZA_USER}"
  install -d -o "${OCPIZZA_USER}" -g "${OCPIZZA_USER}" -m 755 "${OCPIZZA_HOME}"
  # The stream server's socket folder: nginx (www-data) reaches the socket through it.
  install -d -o "${OCPIZZA_USER}" -g www-data -m 750 "${OCPIZZA_HOME}/static" "${OCPIZZA_HOME}/media" \
    "$(dirname "${STREAMS_SOCKET}")"
  install -d -o "${OCPIZZA_USER}" -g "${OCPIZZA_USER}" -m 700 "${OCPIZZA_HOME}/backups"
}

install_packages() {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-dev libpq-dev \
    postgresql postgresql-contrib postgresql-client nginx curl git cron supervisor
}

event Ubuntu-user-creation "check that adduser works and ${OCPIZZA_HOME} can be created" create_user
event Packages-installation "check the network and 'apt-get update' (see the .out file)" install_packages
