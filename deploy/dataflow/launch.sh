#!/usr/bin/env bash
# Builds the Ascolto Flex Template and launches the streaming job on Dataflow.
#   deploy/dataflow/launch.sh PROJECT REGION BUCKET BOOTSTRAP_SERVERS WAREHOUSE_DSN
# Needs gcloud (authenticated), Docker, and a Kafka reachable from the workers' network.
# Also deploys the analytics sidecar (crisis episodes, business gauges) to Cloud Run from
# analytics-sidecar.yaml, in the same image; its warehouse DSN comes from the Secret Manager
# secret ascolto-warehouse-dsn (created here from WAREHOUSE_DSN when missing).
set -euo pipefail
PROJECT=${1:?project} REGION=${2:?region} BUCKET=${3:?bucket} BOOTSTRAP=${4:?bootstrap servers} WAREHOUSE=${5:?warehouse dsn}
VERSION=0.1.0
IMAGE="${REGION}-docker.pkg.dev/${PROJECT}/ascolto/launcher:${VERSION}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

docker build -f "$ROOT/deploy/dataflow/Dockerfile" -t "$IMAGE" "$ROOT"
docker push "$IMAGE"
gcloud dataflow flex-template build "gs://${BUCKET}/templates/ascolto-${VERSION}.json" \
  --project "$PROJECT" --image "$IMAGE" --sdk-language PYTHON --metadata-file "$ROOT/deploy/dataflow/metadata.json"
gcloud dataflow flex-template run "ascolto-engagement" \
  --project "$PROJECT" --region "$REGION" \
  --template-file-gcs-location "gs://${BUCKET}/templates/ascolto-${VERSION}.json" \
  --temp-location "gs://${BUCKET}/tmp" --staging-location "gs://${BUCKET}/staging" \
  --parameters "bootstrap-servers=${BOOTSTRAP},warehouse=${WAREHOUSE},topic=social.events"
gcloud secrets describe ascolto-warehouse-dsn --project "$PROJECT" >/dev/null 2>&1 \
  || printf '%s' "$WAREHOUSE" | gcloud secrets create ascolto-warehouse-dsn --project "$PROJECT" --data-file=-
SIDECAR=$(mktemp --suffix=.yaml)
sed "s|image: ascolto-dataflow-launcher:${VERSION}|image: ${IMAGE}|" "$ROOT/deploy/dataflow/analytics-sidecar.yaml" >"$SIDECAR"
gcloud run services replace "$SIDECAR" --project "$PROJECT" --region "$REGION"
rm -f "$SIDECAR"
