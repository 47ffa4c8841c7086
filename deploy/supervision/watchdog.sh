#!/usr/bin/env bash
# OC Pizza watchdog (manual chapter 7.6): gunicorn and the task worker under supervisord.
#   watchdog.sh boot                   start supervisord (which starts gunicorn and the worker)
#   watchdog.sh status|start|stop|restart gunicorn|worker
#   watchdog.sh shutdown               stop supervisord, gunicorn and the worker
#   watchdog.sh log [worker]           where the gunicorn (or worker) log is
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
    if [ "${2:-}" = worker ]; then echo "${SUPERVISOR_LOG}/worker.log"; else echo "${SUPERVISOR_LOG}/watchdog.log"; fi
    ;;
  "")
    echo "usage: $0 boot|status|start|stop|restart gunicorn|worker|shutdown|log [worker]" >&2
    exit 2
    ;;
  *)
    exec supervisorctl -c "${CONF}" "$@"
    ;;
esac
