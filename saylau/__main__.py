from saylau.cli import main

raise SystemExit(main())
