#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# OC Pizza deploy engine (manual chapter 4): runs the six step scripts in order
# and writes deploy_logs. Run it as root on the server:
#   sudo OCPIZZA_DOMAIN=ocpizza.fr deploy/deploy-engine.sh
#   deploy/deploy-engine.sh --dry-run     # writes deploy_logs, changes nothing
set -euo pipefail

if [[ ${1:-} == --dry-run ]]; then
  export DRY_RUN=1
elif [[ -n ${1:-} ]]; then
  echo "usage: $0 [--dry-run]" >&2
  exit 2
fi

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ ${DRY_RUN} != 1 && ${EUID} -ne 0 ]]; then
  echo "The deploy engine installs packages and services: run it as root (or with --dry-run)." >&2
  exit 1
fi

: >"${DEPLOY_LOG}"
if [[ ${DRY_RUN} == 1 ]]; then
  echo "# Dry run: nothing was installed nor changed" >>"${DEPLOY_LOG}"
fi

steps=(
  "UBUNTU:ubuntu-scripts.sh"
  "POSTGRESQL DataBase:postgresql-scripts.sh"
  "VIRTUAL ENVIRONMENT:venv-scripts.sh"
  "DJANGO PROJECT:django-scripts.sh"
  "GUNICORN:gunicorn-scripts.sh"
  "NGINX:nginx-scripts.sh"
)
number=0
for step in "${steps[@]}"; do
  number=$((number + 1))
  title=${step%%:*}
  script=${step#*:}
  if [[ ${number} -gt 1 ]]; then
    echo >>"${DEPLOY_LOG}"
  fi
  printf '# Step %s : %s\n' "${number}" "${title}" >>"${DEPLOY_LOG}"
  echo "Step ${number} : ${title}"
  if ! bash "${DEPLOY_DIR}/${script}"; then
    echo "Deployment stopped at step ${number} (${title}): see ${DEPLOY_LOG}" >&2
    exit 1
  fi
done

printf '\n# Final step : Launch the website\n' >>"${DEPLOY_LOG}"
event Website-connection "check 'systemctl status gunicorn nginx' and 'journalctl -u gunicorn'" \
  curl --fail --silent --show-error --max-time 10 -H "Host: ${OCPIZZA_DOMAIN}" "http://127.0.0.1/healthz"
echo "Deployment done: ${DEPLOY_LOG}"
