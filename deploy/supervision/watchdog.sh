#!/usr/bin/env bash
# OC Pizza watchdog (manual chapter 7.6): gunicorn, the task worker and the stream server under supervisord.
#   watchdog.sh boot                   start supervisord (which starts gunicorn, the worker and the streams)
#   watchdog.sh run                    the same in the foreground (ocpizza-supervisor.service)
#   watchdog.sh status|start|stop|restart gunicorn|worker|streams
#   watchdog.sh shutdown               stop supervisord, gunicorn, the worker and the streams
#   watchdog.sh log [worker|streams]   where the gunicorn (or worker, or stream server) log is
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${OCPIZZA_APP:=$(cd "${HERE}/../.." && pwd)}"
: "${OCPIZZA_VENV:=${OCPIZZA_APP}/.venv}"
: "${ENV_FILE:=/etc/ocpizza/ocpizza.env}"   # the deploy's settings and secrets
: "${GUNICORN_BIND:=unix:/run/gunicorn.sock}"
: "${SUPERVISOR_RUN:=${OCPIZZA_APP}/supervision/run}"
: "${SUPERVISOR_LOG:=${OCPIZZA_APP}/supervision/log}"
: "${STREAMS_SOCKET:=${SUPERVISOR_RUN}/streams.sock}"
export OCPIZZA_APP OCPIZZA_VENV ENV_FILE GUNICORN_BIND STREAMS_SOCKET SUPERVISOR_RUN SUPERVISOR_LOG
CONF="${HERE}/supervisord.conf"

mkdir -p "${SUPERVISOR_RUN}" "${SUPERVISOR_LOG}"
# gunicorn without its settings would serve a development site on an empty database.
start_checks() {
  if [[ ! -r ${ENV_FILE} ]]; then
    echo "ENV_FILE ${ENV_FILE} is not readable: gunicorn would start without the site's settings" >&2
    exit 1
  fi
}
case "${1:-}" in
  boot)
    start_checks
    exec supervisord -c "${CONF}"
    ;;
  run)
    start_checks
    exec supervisord --nodaemon -c "${CONF}"
    ;;
  log)
    case "${2:-}" in
      worker) echo "${SUPERVISOR_LOG}/worker.log" ;;
      streams) echo "${SUPERVISOR_LOG}/streams.log" ;;
      *) echo "${SUPERVISOR_LOG}/watchdog.log" ;;
    esac
    ;;
  "")
    echo "usage: $0 boot|run|status|start|stop|restart gunicorn|worker|streams|shutdown|log [worker|streams]" >&2
    exit 2
    ;;
  *)
    exec supervisorctl -c "${CONF}" "$@"
    ;;
esac
