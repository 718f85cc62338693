"""``python -m eks_gpu`` runs the CLI."""

from __future__ import annotations

from eks_gpu.cli.main import main

raise SystemExit(main())
