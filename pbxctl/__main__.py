"""`python -m pbxctl` is the pbxctl command."""

from .cli import main

main()
