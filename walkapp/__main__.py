from walkapp.cli import main

main()
