"""``python -m gradstage`` runs the ``gradstage`` command."""

import sys

from gradstage.cli import main

sys.exit(main())
