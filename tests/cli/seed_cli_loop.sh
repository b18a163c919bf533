# The seed's "CLI Integration" loop as written, with `flask shar workflow create` and
# `flask shar workflow list` in place of the artisan commands (nothing else changed).
# Create workflow and wait for completion
WORKFLOW_ID=$(flask shar workflow create OrderProcess workflow.bpmn --format=json | jq -r '.id')

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
        sleep 5
    fi
done
