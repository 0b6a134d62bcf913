"""``python -m service`` is the same as the ``backpain-cds`` command."""

import sys

from service.cli import main

sys.exit(main())
