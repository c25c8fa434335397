from va.cli import main

raise SystemExit(main())
