import sys

from nansentry.cli import main

sys.exit(main())
