#!/usr/bin/env bash
# The local control plane for the tests (etcd, kube-apiserver, kube-scheduler,
# kube-controller-manager, kwok, and Karpenter with its kwok provider; built from the pinned Go
# modules in hack/controlplane/). Verbs:
#   build   build the binaries into ${XDG_CACHE_HOME:-~/.cache}/eks-gpu/controlplane (cached by version)
#   up      start everything on 127.0.0.1 (state in --dir, default $TMPDIR/eks-gpu-controlplane-$UID);
#           --karpenter also starts Karpenter (in its own network namespace: needs root)
#   env     print `export KUBECONFIG=...` for the running plane: eval "$(scripts/controlplane.sh env)"
#   down    stop it (logs and the audit log stay in the state folder)
# Needs Go >= 1.26 (build only), openssl, and the project's venv (PyYAML).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export PYTHONPATH="$root/tests${PYTHONPATH:+:$PYTHONPATH}"
exec "${PYTHON:-python3}" -m controlplane "$@"
