"""``python -m infra``: see infra.cli."""

from infra.cli import main

raise SystemExit(main())
