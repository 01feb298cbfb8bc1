"""``python -m petdx`` = the ``petdx`` command."""

from petdx.cli.app import main

if __name__ == "__main__":
    main()
