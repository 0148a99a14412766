"""`python -m iclprune` = the `iclprune` command."""

from iclprune.workflow.cli import main

raise SystemExit(main())
