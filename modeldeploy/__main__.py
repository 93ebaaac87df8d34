from modeldeploy.cli.app import main

main()
