#!/usr/bin/env bash
# Adds Google Cloud Managed Service for Prometheus to the deployed service: the collector sidecar
# scrapes cutout-server's /metrics on the loopback listener (CUTOUT_METRICS_PORT=9464, never public)
# as deploy/metrics/rungmp-config.yaml says, and writes to Cloud Monitoring. Idempotent; prints every
# command; DRY_RUN=1 prints without running anything. Run it after deploy/deploy.sh (a deploy
# replaces the service from deploy/service.yaml, which has no sidecar).
#
#   PROJECT_ID=my-project REGION=europe-west1 deploy/metrics-sidecar.sh
#
# Settings (environment): PROJECT_ID, REGION, SERVICE (cutout), GMP_SIDECAR_IMAGE, METRICS_SECRET
# (cutout-rungmp-config).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/lib.sh
. "$here/lib.sh"

# Google's collector image for Cloud Run; check the current tag in Google's "Prometheus sidecar for
# Cloud Run" page before relying on it.
: "${GMP_SIDECAR_IMAGE:=us-docker.pkg.dev/cloud-ops-agents-artifacts/cloud-run-gmp-sidecar/cloud-run-gmp-sidecar:1.1.1}"
: "${METRICS_SECRET:=cutout-rungmp-config}"
require_project
config="$here/metrics/rungmp-config.yaml"
port=$(awk '$1 == "-" && $2 == "port:" { print $3; exit }' "$config")
[ -n "$port" ] || die "no port in $config"

sa=$(sa_email "$RUNTIME_SA_NAME")
say "Prometheus sidecar for $SERVICE: scrapes 127.0.0.1:$port/metrics, identity $sa"
run gcloud services enable secretmanager.googleapis.com monitoring.googleapis.com --project "$PROJECT_ID"
if exists gcloud secrets describe "$METRICS_SECRET" --project "$PROJECT_ID"; then
  run gcloud secrets versions add "$METRICS_SECRET" --project "$PROJECT_ID" --data-file "$config"
else
  run gcloud secrets create "$METRICS_SECRET" --project "$PROJECT_ID" --replication-policy automatic \
    --data-file "$config"
fi
run gcloud secrets add-iam-policy-binding "$METRICS_SECRET" --project "$PROJECT_ID" \
  --member "serviceAccount:$sa" --role roles/secretmanager.secretAccessor
run gcloud projects add-iam-policy-binding "$PROJECT_ID" --member "serviceAccount:$sa" \
  --role roles/monitoring.metricWriter --condition None
# The server's metrics listener on loopback, and the collector next to it.
run gcloud run services update "$SERVICE" --project "$PROJECT_ID" --region "$REGION" \
  --container cutout --update-env-vars "CUTOUT_METRICS_PORT=$port" \
  --container collector --image "$GMP_SIDECAR_IMAGE" --cpu 1 --memory 512Mi \
  --update-secrets "/etc/rungmp/config.yaml=$METRICS_SECRET:latest"
say "metrics: Cloud Monitoring, Prometheus metrics of $SERVICE (e.g. cutout_http_requests_total)"
