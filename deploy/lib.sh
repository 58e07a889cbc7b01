# shellcheck shell=bash
# Shared by deploy/*.sh: settings with defaults, and `run`, which prints each command before running it
# (DRY_RUN=1 prints only, touching nothing: what CI runs).

: "${PROJECT_ID:=$(gcloud config get-value project 2>/dev/null || true)}"
: "${REGION:=europe-west1}"                 # L4 regions: see docs/deploy.md
: "${SERVICE:=cutout}"
: "${REPOSITORY:=cutout}"                   # Artifact Registry repository (docker)
: "${RUNTIME_SA_NAME:=cutout-run}"          # the service's identity (needs no roles)
: "${WARMUP_SA_NAME:=cutout-warmup}"        # the scheduler's identity (run.invoker on the service)
: "${WARMUP_JOB:=${SERVICE}-warmup}"
: "${DRY_RUN:=0}"

say() { printf '== %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# run CMD...: print it, then run it unless DRY_RUN=1.
run() {
  printf '+'; printf ' %q' "$@"; printf '\n'
  [ "$DRY_RUN" = 1 ] || "$@"
}

# exists CMD...: true when a describe-style command succeeds; false in a dry run (assume absent).
exists() {
  if [ "$DRY_RUN" = 1 ]; then
    printf '?'; printf ' %q' "$@"; printf ' (dry run: assumed absent)\n'
    return 1
  fi
  "$@" >/dev/null 2>&1
}

require_project() {
  [ -n "$PROJECT_ID" ] || die "set PROJECT_ID (or 'gcloud config set project ...')"
  if [ "$DRY_RUN" != 1 ]; then command -v gcloud >/dev/null || die "gcloud is not installed"; fi
}

sa_email() { printf '%s@%s.iam.gserviceaccount.com' "$1" "$PROJECT_ID"; }

# ensure_service_account NAME DISPLAY_NAME
ensure_service_account() {
  local email
  email=$(sa_email "$1")
  if exists gcloud iam service-accounts describe "$email" --project "$PROJECT_ID"; then
    say "service account $email exists"
  else
    run gcloud iam service-accounts create "$1" --project "$PROJECT_ID" --display-name "$2"
  fi
}

# service_url: the deployed service's URL (a placeholder in a dry run).
service_url() {
  if [ "$DRY_RUN" = 1 ]; then
    printf 'https://%s-PROJECT_HASH.%s.run.app' "$SERVICE" "$REGION"
  else
    gcloud run services describe "$SERVICE" --project "$PROJECT_ID" --region "$REGION" --format 'value(status.url)'
  fi
}
