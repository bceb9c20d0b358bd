#!/usr/bin/env bash
# Builds the Ascolto Flex Template and launches the streaming job on Dataflow.
#   deploy/dataflow/launch.sh PROJECT REGION BUCKET BOOTSTRAP_SERVERS WAREHOUSE_DSN
# Needs gcloud (authenticated), Docker, and a Kafka reachable from the workers' network.
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
