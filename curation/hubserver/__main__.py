"""`python -m curation.hubserver`: start the local Hub-compatible server."""

from curation.hubserver.serve import main

main()
