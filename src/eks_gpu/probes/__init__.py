"""Probes: stdlib-only scripts that run inside the test pods' stock images (``python3
probes/<name>.py``) and print one JSON line as their last output.

They import nothing from eks_gpu (a pod has only the script), so they sit below every other
layer; eks-gpu imports their pure parsing functions to read what a pod printed.
"""
