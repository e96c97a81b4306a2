from retailconnect.cli import main

main()
