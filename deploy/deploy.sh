#!/usr/bin/env bash
# Builds the CUDA image with Cloud Build, pushes it to Artifact Registry and deploys
# deploy/service.yaml with `gcloud run services replace`. Idempotent: what exists is kept, the service
# gets a new revision. Prints every command; DRY_RUN=1 prints without running anything.
#
#   PROJECT_ID=my-project REGION=europe-west1 deploy/deploy.sh
#
# Settings (environment): PROJECT_ID, REGION, SERVICE (cutout), REPOSITORY (cutout), TAG (git short
# hash), MODEL_SOURCE (inspyrenet, or file with MODEL_FILE), ALLOW_UNAUTHENTICATED (0), IMAGE (skip the
# build and deploy this image), RENDERED (where the filled-in YAML goes), LIBTORCH_SHA256 (required for
# a build: the LibTorch archive's sha256, see docs/deploy.md).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=deploy/lib.sh
. "$here/lib.sh"

: "${TAG:=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || date -u +%Y%m%d%H%M%S)}"
: "${MODEL_SOURCE:=inspyrenet}"
: "${MODEL_FILE:=models/default.pt}"
: "${ALLOW_UNAUTHENTICATED:=0}"
: "${RENDERED:=$(mktemp -t cutout-service.XXXXXX.yaml)}"
require_project

registry="$REGION-docker.pkg.dev"
build=1
if [ -n "${IMAGE:-}" ]; then build=0; else IMAGE="$registry/$PROJECT_ID/$REPOSITORY/$SERVICE:$TAG"; fi

say "project $PROJECT_ID, region $REGION, service $SERVICE, image $IMAGE"
run gcloud services enable run.googleapis.com artifactregistry.googleapis.com cloudbuild.googleapis.com \
  cloudscheduler.googleapis.com iam.googleapis.com --project "$PROJECT_ID"

if [ "$build" = 1 ]; then
  # Checked here too, so a missing pin costs no Cloud Build run (the Dockerfile refuses it as well).
  [[ "${LIBTORCH_SHA256:-}" =~ ^[0-9a-f]{64}$ ]] ||
    die "set LIBTORCH_SHA256 to the LibTorch archive's sha256 (docs/deploy.md, \"LibTorch's pin\"), or IMAGE to deploy a built image"
  if exists gcloud artifacts repositories describe "$REPOSITORY" --project "$PROJECT_ID" --location "$REGION"; then
    say "Artifact Registry repository $REPOSITORY exists"
  else
    run gcloud artifacts repositories create "$REPOSITORY" --project "$PROJECT_ID" --location "$REGION" \
      --repository-format docker --description "cutout images"
  fi
  say "building $IMAGE (CUDA target, model: $MODEL_SOURCE) with Cloud Build"
  run gcloud builds submit "$root" --project "$PROJECT_ID" --region "$REGION" \
    --config "$here/cloudbuild.yaml" \
    --substitutions "_IMAGE=$IMAGE,_MODEL_SOURCE=$MODEL_SOURCE,_MODEL_FILE=$MODEL_FILE,_LIBTORCH_SHA256=$LIBTORCH_SHA256"
fi

ensure_service_account "$RUNTIME_SA_NAME" "cutout service runtime"

say "rendering deploy/service.yaml into $RENDERED"
sed -e "s|\${SERVICE}|$SERVICE|g" -e "s|\${REGION}|$REGION|g" -e "s|\${IMAGE}|$IMAGE|g" \
    -e "s|\${PROJECT_ID}|$PROJECT_ID|g" \
    -e "s|\${RUNTIME_SERVICE_ACCOUNT}|$(sa_email "$RUNTIME_SA_NAME")|g" \
    "$here/service.yaml" > "$RENDERED"
if grep -v '^[[:space:]]*#' "$RENDERED" | grep '[$]{'; then die "unfilled placeholders in $RENDERED"; fi

run gcloud run services replace "$RENDERED" --project "$PROJECT_ID" --region "$REGION"
if [ "$ALLOW_UNAUTHENTICATED" = 1 ]; then
  run gcloud run services add-iam-policy-binding "$SERVICE" --project "$PROJECT_ID" --region "$REGION" \
    --member allUsers --role roles/run.invoker
fi
say "deployed: $(service_url)"
