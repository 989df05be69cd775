from wattprint.cli import main

raise SystemExit(main())
