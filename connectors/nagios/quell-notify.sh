#!/bin/sh
# Quell notification command for Nagios Core 4 and Icinga 2: posts one host or service
# notification as JSON to Quell's /ingest/nagios. Runs on the monitoring host (needs curl, jq).
#
# Every value is read from the environment, never from the command line: Nagios with
# enable_environment_macros=1 sets NAGIOS_<MACRO> for each macro; Icinga 2 sets the same names
# through the NotificationCommand's `env` (see the connector's README). Values go into the JSON
# with `jq --arg` (data, never parsed by a shell or by jq), the token reaches curl on its
# standard input (never on a command line that `ps` shows).
#
#   quell-notify.sh host|service
#
# Settings (environment, e.g. in the command definition):
#   QUELL_URL         https://quell.example/ingest/nagios
#   QUELL_TOKEN_FILE  a file holding Quell's ingest token (or QUELL_TOKEN, the token itself)
#   QUELL_SOURCE      nagios (default) or icinga2
#   QUELL_TIMEOUT     seconds, default 10
set -eu

kind=${1:-}
case "$kind" in
  host|service) ;;
  *) echo "usage: $0 host|service" >&2; exit 2 ;;
esac
: "${QUELL_URL:?set QUELL_URL to Quell's /ingest/nagios URL}"
if [ -n "${QUELL_TOKEN_FILE:-}" ]; then
  token=$(cat "$QUELL_TOKEN_FILE")
else
  token=${QUELL_TOKEN:?set QUELL_TOKEN_FILE (or QUELL_TOKEN)}
fi
command -v jq >/dev/null || { echo "$0: jq is required" >&2; exit 3; }

if [ "$kind" = host ]; then
  state=${NAGIOS_HOSTSTATE:-}
  state_type=${NAGIOS_HOSTSTATETYPE:-}
  output=${NAGIOS_HOSTOUTPUT:-}
  long_output=${NAGIOS_LONGHOSTOUTPUT:-}
  last_change=${NAGIOS_LASTHOSTSTATECHANGE:-}
  problem_id=${NAGIOS_HOSTPROBLEMID:-}
  last_problem_id=${NAGIOS_LASTHOSTPROBLEMID:-}
else
  state=${NAGIOS_SERVICESTATE:-}
  state_type=${NAGIOS_SERVICESTATETYPE:-}
  output=${NAGIOS_SERVICEOUTPUT:-}
  long_output=${NAGIOS_LONGSERVICEOUTPUT:-}
  last_change=${NAGIOS_LASTSERVICESTATECHANGE:-}
  problem_id=${NAGIOS_SERVICEPROBLEMID:-}
  last_problem_id=${NAGIOS_LASTSERVICEPROBLEMID:-}
fi

body=$(mktemp)
trap 'rm -f "$body"' EXIT
jq -n \
  --arg source "${QUELL_SOURCE:-nagios}" \
  --arg kind "$kind" \
  --arg notification_type "${NAGIOS_NOTIFICATIONTYPE:-}" \
  --arg host "${NAGIOS_HOSTNAME:-}" \
  --arg host_display_name "${NAGIOS_HOSTDISPLAYNAME:-}" \
  --arg host_address "${NAGIOS_HOSTADDRESS:-}" \
  --arg host_groups "${NAGIOS_HOSTGROUPNAMES:-}" \
  --arg service "${NAGIOS_SERVICEDESC:-}" \
  --arg service_display_name "${NAGIOS_SERVICEDISPLAYNAME:-}" \
  --arg service_groups "${NAGIOS_SERVICEGROUPNAMES:-}" \
  --arg state "$state" \
  --arg state_type "$state_type" \
  --arg output "$output" \
  --arg long_output "$long_output" \
  --arg last_state_change "$last_change" \
  --arg problem_id "$problem_id" \
  --arg last_problem_id "$last_problem_id" \
  --arg timestamp "${NAGIOS_TIMET:-}" \
  --arg author "${NAGIOS_NOTIFICATIONAUTHOR:-}" \
  --arg comment "${NAGIOS_NOTIFICATIONCOMMENT:-}" \
  '{source: $source, kind: $kind, notification_type: $notification_type, host: $host,
    host_display_name: $host_display_name, host_address: $host_address, host_groups: $host_groups,
    state: $state, state_type: $state_type, output: $output, long_output: $long_output,
    last_state_change: $last_state_change, problem_id: $problem_id, last_problem_id: $last_problem_id,
    timestamp: $timestamp, author: $author, comment: $comment}
   + (if $kind == "service" then {service: $service, service_display_name: $service_display_name,
      service_groups: $service_groups} else {} end)' > "$body"

# curl's config syntax: a backslash or a double quote in the token is escaped.
escaped=$(printf '%s' "$token" | sed 's/[\\"]/\\&/g')
printf 'header = "Authorization: Bearer %s"\n' "$escaped" | curl --config - --silent --show-error --fail \
  --max-time "${QUELL_TIMEOUT:-10}" -H 'Content-Type: application/json' --data-binary @"$body" \
  --output /dev/null "$QUELL_URL"
