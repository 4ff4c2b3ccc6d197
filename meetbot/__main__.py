from meetbot.cli.main import main

raise SystemExit(main())
