#!/usr/bin/env bash
# Creates (or updates) the Cloud Scheduler job that keeps one instance warm during business hours:
# GET <service>/warmup with an OIDC token of a service account that holds roles/run.invoker on the
# service. Idempotent; prints every command; DRY_RUN=1 prints without running anything.
#
#   PROJECT_ID=my-project REGION=europe-west1 deploy/warmup-create.sh
#
# Settings (environment): PROJECT_ID, REGION, SERVICE (cutout), WARMUP_JOB (cutout-warmup),
# WARMUP_SA_NAME (cutout-warmup), SCHEDULE, TIME_ZONE.
# The default schedule pings every 8 minutes, 08:00-17:59 on weekdays: below Cloud Run's ~10 minute
# idle timeout for GPU instances, with 2 minutes to spare for the scheduler's jitter. The first ping of
# the day absorbs the cold start; users then find a warm instance. See docs/deploy.md for the costs.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/lib.sh
. "$here/lib.sh"

: "${SCHEDULE:=*/8 8-17 * * 1-5}"
: "${TIME_ZONE:=Etc/UTC}"
# /warmup waits up to this long for the model. It must end before the service's request timeout
# (deploy/service.yaml, timeoutSeconds: 120), or a slow cold start ends in Cloud Run's bare 504
# instead of the server's 503 warmup_timeout with the phase it was in. The margin, at least
# WARMUP_MARGIN_S (20 s): Cloud Run's clock starts when it accepts the request, the server's only
# once the container runs and has opened its port (instance scheduling, image streaming and the
# process start come first), and the 503 must still be written back.
: "${WARMUP_TIMEOUT_MS:=100000}"
: "${WARMUP_MARGIN_S:=20}"
require_project
request_timeout_s=$(awk '$1 == "timeoutSeconds:" { print $2; exit }' "$here/service.yaml")
[[ "$WARMUP_TIMEOUT_MS" =~ ^[0-9]+$ ]] || die "WARMUP_TIMEOUT_MS must be a number of milliseconds"
if (( WARMUP_TIMEOUT_MS + WARMUP_MARGIN_S * 1000 > request_timeout_s * 1000 )); then
  die "WARMUP_TIMEOUT_MS=$WARMUP_TIMEOUT_MS leaves less than ${WARMUP_MARGIN_S} s before the request timeout (${request_timeout_s} s, deploy/service.yaml)"
fi

sa=$(sa_email "$WARMUP_SA_NAME")
say "warm-up job $WARMUP_JOB: '$SCHEDULE' ($TIME_ZONE) -> $SERVICE/warmup as $sa"
run gcloud services enable cloudscheduler.googleapis.com --project "$PROJECT_ID"
ensure_service_account "$WARMUP_SA_NAME" "cutout warm-up pings"
# Adding a binding that exists already is a no-op.
run gcloud run services add-iam-policy-binding "$SERVICE" --project "$PROJECT_ID" --region "$REGION" \
  --member "serviceAccount:$sa" --role roles/run.invoker

url=$(service_url 2>/dev/null || true)
[ -n "$url" ] || die "service $SERVICE not found in $REGION: deploy it first (deploy/deploy.sh)"
job_args=(--project "$PROJECT_ID" --location "$REGION"
  --schedule "$SCHEDULE" --time-zone "$TIME_ZONE"
  --uri "$url/warmup?timeout_ms=$WARMUP_TIMEOUT_MS" --http-method GET
  --oidc-service-account-email "$sa" --oidc-token-audience "$url"
  --attempt-deadline 180s --max-retry-attempts 1)
if exists gcloud scheduler jobs describe "$WARMUP_JOB" --project "$PROJECT_ID" --location "$REGION"; then
  run gcloud scheduler jobs update http "$WARMUP_JOB" "${job_args[@]}"
else
  run gcloud scheduler jobs create http "$WARMUP_JOB" "${job_args[@]}"
fi
say "done; run it once now with: gcloud scheduler jobs run $WARMUP_JOB --project $PROJECT_ID --location $REGION"
