"""``python -m durable.cli``: the same as the ``durable`` command."""

import sys

from durable.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
