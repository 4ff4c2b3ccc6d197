from meetbot.cli import main

raise SystemExit(main())
