"""`python -m laneway` is `laneway`."""

import sys

from laneway.cli.main import main

sys.exit(main())
