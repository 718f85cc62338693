"""The command line: one module per command; errors map to exit codes in ``main``."""
