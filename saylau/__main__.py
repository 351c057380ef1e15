from saylau.cli.main import main

raise SystemExit(main())
