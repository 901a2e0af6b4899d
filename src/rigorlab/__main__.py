from rigorlab.cli import main

main()
