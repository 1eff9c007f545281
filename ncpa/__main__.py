from ncpa.cli import main

raise SystemExit(main())
