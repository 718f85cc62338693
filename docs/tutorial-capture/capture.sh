#!/usr/bin/env bash
# Re-capture the output shown in docs/tutorial.md: brings the local control plane up with
# Karpenter (kwok provider; needs root and `scripts/controlplane.sh build`), runs the
# tutorial's commands in a scratch folder, prints each as "$ command" + its output + exit code,
# and brings the plane down. Karpenter's CRDs come from the upstream reference folder
# ($EKS_GPU_REFERENCE; see docs/explanation.md#upstream-reference-files).
# Usage: docs/tutorial-capture/capture.sh > /tmp/transcript.txt
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
. "$root/.venv/bin/activate"
work="$(mktemp -d)"
export NO_COLOR=1 COLUMNS=100
trap '(cd "$root/tests" && python -m controlplane down)' EXIT
(cd "$root/tests" && python -m controlplane up --karpenter >/dev/null) || exit 1
eval "$(cd "$root/tests" && python -m controlplane env)"
cd "$work"
run() { echo "\$ $*"; "$@" 2>&1; echo "[exit $?]"; echo; }
run eks-gpu init --profile inference --cluster-name tutorial
run eks-gpu plan
run eks-gpu render --out-dir manifests/
run eks-gpu diff
run eks-gpu apply --dry-run=server
run eks-gpu apply --skip-cluster-name-check --yes
run eks-gpu apply --skip-cluster-name-check --yes
run eks-gpu verify
echo "\$ # stand-in for AWS (docs/tutorial-capture/aws_standin.py)"
PYTHONPATH="$root/tests" python "$root/docs/tutorial-capture/aws_standin.py" "$KUBECONFIG" "$work/logs"
echo
run eks-gpu verify
run eks-gpu status
run eks-gpu doctor
run eks-gpu doctor --skip device-plugin-nvml-failure,device-plugin-waiting
run eks-gpu dump -o dump.json
run eks-gpu doctor --from dump.json --skip device-plugin-nvml-failure,device-plugin-waiting -o json
run eks-gpu diff
run eks-gpu delete --yes
