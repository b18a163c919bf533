#!/usr/bin/env bash
# The seed's "CLI Integration" loop, with `flask shar` in place of the artisan commands.
set -euo pipefail
WORKFLOW_ID=$(flask shar workflow create OrderProcess "$1" --format=json | jq -r '.id')
echo "created $WORKFLOW_ID"

# Poll until ready
while true; do
    STATUS=$(flask shar workflow list --format=json | jq -r ".[] | select(.name==\"OrderProcess\") | .status")

    if [ "$STATUS" = "active" ]; then
        echo "Workflow is ready!"
        break
    elif [ "$STATUS" = "failed" ]; then
        echo "Workflow creation failed!"
        exit 1
    else
        echo "Waiting for workflow creation..."
        sleep 1
    fi
done
