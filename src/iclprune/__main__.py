"""`python -m iclprune` = the `iclprune` command."""

from iclprune.cli import main

raise SystemExit(main())
