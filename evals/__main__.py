import sys

from evals.cli import cli_main

sys.exit(cli_main())
