"""One module per family of doctor rules."""
