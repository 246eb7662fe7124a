"""``python -m runrecord`` runs the ``runrecord`` command."""

from __future__ import annotations

import sys

from runrecord.cli import main

sys.exit(main())
