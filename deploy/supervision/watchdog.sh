#!/usr/bin/env bash
# OC Pizza watchdog (manual chapter 7.6): gunicorn under supervisord.
#   watchdog.sh boot                   start supervisord (which starts gunicorn)
#   watchdog.sh status|start|stop|restart gunicorn
#   watchdog.sh shutdown               stop supervisord and gunicorn
#   watchdog.sh log                    where the gunicorn log is
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${OCPIZZA_APP:=$(cd "${HERE}/../.." && pwd)}"
: "${OCPIZZA_VENV:=${OCPIZZA_APP}/.venv}"
: "${GUNICORN_BIND:=unix:/run/gunicorn.sock}"
: "${SUPERVISOR_RUN:=${OCPIZZA_APP}/supervision/run}"
: "${SUPERVISOR_LOG:=${OCPIZZA_APP}/supervision/log}"
export OCPIZZA_APP OCPIZZA_VENV GUNICORN_BIND SUPERVISOR_RUN SUPERVISOR_LOG
CONF="${HERE}/supervisord.conf"

mkdir -p "${SUPERVISOR_RUN}" "${SUPERVISOR_LOG}"
case "${1:-}" in
  boot)
    exec supervisord -c "${CONF}"
    ;;
  log)
    echo "${SUPERVISOR_LOG}/watchdog.log"
    ;;
  "")
    echo "usage: $0 boot|status|start|stop|restart gunicorn|shutdown|log" >&2
    exit 2
    ;;
  *)
    exec supervisorctl -c "${CONF}" "$@"
    ;;
esac
