"""HTTP routes and middleware of the gradstage server."""
