"""``python -m groundscore`` runs the command line."""

import sys

from groundscore.cli import main

sys.exit(main())
