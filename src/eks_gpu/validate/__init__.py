"""Offline validation: CRD schemas, CEL rules, core schemas and GPU lint rules (pure)."""
