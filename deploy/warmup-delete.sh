#!/usr/bin/env bash
# Tears down what deploy/warmup-create.sh made: the scheduler job, then (with DELETE_SERVICE_ACCOUNT=1)
# the invoker binding and the service account. Idempotent: what is already gone is skipped. Prints
# every command; DRY_RUN=1 prints without running anything.
#
#   PROJECT_ID=my-project REGION=europe-west1 deploy/warmup-delete.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/lib.sh
. "$here/lib.sh"

: "${DELETE_SERVICE_ACCOUNT:=0}"
require_project
sa=$(sa_email "$WARMUP_SA_NAME")

if exists gcloud scheduler jobs describe "$WARMUP_JOB" --project "$PROJECT_ID" --location "$REGION"; then
  run gcloud scheduler jobs delete "$WARMUP_JOB" --project "$PROJECT_ID" --location "$REGION" --quiet
else
  say "scheduler job $WARMUP_JOB: not there"
fi

if [ "$DELETE_SERVICE_ACCOUNT" = 1 ]; then
  if exists gcloud run services describe "$SERVICE" --project "$PROJECT_ID" --region "$REGION"; then
    # Fails harmlessly when the binding is already gone.
    run gcloud run services remove-iam-policy-binding "$SERVICE" --project "$PROJECT_ID" --region "$REGION" \
      --member "serviceAccount:$sa" --role roles/run.invoker || true
  fi
  if exists gcloud iam service-accounts describe "$sa" --project "$PROJECT_ID"; then
    run gcloud iam service-accounts delete "$sa" --project "$PROJECT_ID" --quiet
  else
    say "service account $sa: not there"
  fi
else
  say "keeping service account $sa (DELETE_SERVICE_ACCOUNT=1 removes it and its binding)"
fi
say "warm-up torn down; the service scales to zero after its idle timeout"
