"""`python -m watchlist_db.cli`: the same as the `wldb` console script."""

from . import main

main()
